"""Topview operations on the mock's state: uploads, remove-background tasks, credits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bgmock.server.core import imaging
from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call, ControlError
from bgmock.server.core.engine import Engine
from bgmock.server.core.tasks import Lifecycle, Task
from bgmock.server.providers.topview.errors import TopviewError

PROVIDER = "topview"
LIFECYCLE = Lifecycle(pending=("init", "running"), durations=(1.0, 4.0),
                      failure_message="model service unavailable")
REMOVE_BACKGROUND = "remove_background"
COSTS = {REMOVE_BACKGROUND: 0.5}                       # T12
# T14, T17: the docs' CloudFront Policy ends 72 h after the session's calls (D62); the files
# themselves stay 7 days, and every query within them signs fresh URLs.
UPLOAD_TTL, S3_TTL, CLOUDFRONT_TTL = 3600, 86400, 72 * 3600
UPLOAD_BUCKET, RESULT_BUCKET, DISTRIBUTION = "topview-upload", "aigc", "dr1coeak04nbk"
IMAGE_FORMATS = {"png", "jpg", "jpeg", "bmp", "webp"}
MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "bmp": "image/bmp",
        "webp": "image/webp", "mp4": "video/mp4", "mov": "video/quicktime",
        "avi": "video/x-msvideo", "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4"}
RESULT_KEYS = ("bgRemovedImageFileId", "bgRemovedImagePath", "bgRemovedImageWidth",
               "bgRemovedImageHeight", "maskImageFileId", "maskImagePath", "maskImageWidth",
               "maskImageHeight", "costCredit", "errorMsg")


@dataclass
class TopviewFile:
    file_id: str
    owner: str
    format: str
    bucket: str
    key: str


@dataclass
class TopviewState:
    files: dict[str, TopviewFile] = field(default_factory=dict)


def state(engine: Engine) -> TopviewState:
    return engine.state[PROVIDER]


def _account(call: Call) -> Account:
    assert call.account is not None  # every Topview operation is authenticated
    return call.account


def _own_file(call: Call, file_id: str) -> TopviewFile:
    file = state(call.engine).files.get(file_id)
    if file is None or file.owner != _account(call).key:
        raise TopviewError("4004")
    return file


# --- upload ------------------------------------------------------------------------------

async def upload_credential(call: Call) -> dict[str, Any]:
    engine, owner, fmt = call.engine, _account(call).key, call.params["format"]
    file_id = engine.ids.hex("topview.file")
    key = f"user_upload/{owner}/{file_id}.{fmt}"
    engine.files.expect_upload(UPLOAD_BUCKET, key, engine.settings.max_upload_bytes,
                               MIME[fmt])
    state(engine).files[file_id] = TopviewFile(file_id, owner, fmt, UPLOAD_BUCKET, key)
    url = engine.s3.url(call.base_url, UPLOAD_BUCKET, key, now=engine.clock.now(),
                        expires=UPLOAD_TTL, method="PUT")
    return {"fileId": file_id, "fileName": f"{file_id}.{fmt}", "format": fmt, "uploadUrl": url}


async def upload_check(call: Call) -> bool:
    file = _own_file(call, call.params["fileId"])
    return call.engine.files.exists(file.bucket, file.key)


# --- remove background -------------------------------------------------------------------

@dataclass(frozen=True)
class RemovedBackground:
    """What a finished remove-background task points at."""

    directory: str
    cutout_id: str
    mask_id: str
    cutout_size: tuple[int, int]
    mask_size: tuple[int, int]


def result_paths(directory: str) -> tuple[str, str]:
    base = f"analyzed_video/task/background_removed/{directory}"
    return f"{base}/cropped_image.png", f"{base}/mask.png"


def register_result(engine: Engine, owner: str, result: RemovedBackground) -> None:
    cutout_key, mask_key = result_paths(result.directory)
    files = state(engine).files
    files[result.cutout_id] = TopviewFile(result.cutout_id, owner, "png", RESULT_BUCKET,
                                          cutout_key)
    files[result.mask_id] = TopviewFile(result.mask_id, owner, "png", RESULT_BUCKET, mask_key)


def render_cutout(data: bytes, limits: imaging.Limits) -> tuple[bytes, bytes, Any]:
    """PNG cut-out cropped to the subject and PNG mask at the original size (T16)."""
    cut = imaging.cut_out(imaging.decode(data, limits))
    return imaging.encode(cut.cropped, "png"), imaging.encode(cut.mask, "png"), cut


async def _remove_background(engine: Engine, owner: str, source: TopviewFile) -> RemovedBackground:
    obj = engine.files.get(source.bucket, source.key)
    if obj is None:
        raise RuntimeError("source image is gone")
    try:
        cutout_png, mask_png, cut = await imaging.offload(
            render_cutout, await obj.read(), engine.image_limits)
    except imaging.ImageTooLarge as exc:
        raise RuntimeError(f"image too large: {exc}") from exc
    except imaging.ImageError as exc:
        raise RuntimeError("image decode failed: the file is not a readable image") from exc
    result = RemovedBackground(engine.ids.hex("topview.dir"), engine.ids.hex("topview.file"),
                               engine.ids.hex("topview.file"), cut.cropped.size, cut.mask.size)
    cutout_key, mask_key = result_paths(result.directory)
    engine.files.put(RESULT_BUCKET, cutout_key, cutout_png, "image/png")
    engine.files.put(RESULT_BUCKET, mask_key, mask_png, "image/png")
    register_result(engine, owner, result)
    return result


async def remove_background_submit(call: Call) -> dict[str, Any]:
    engine, account = call.engine, _account(call)
    source = _own_file(call, call.params["productImageFileId"])
    if not engine.files.exists(source.bucket, source.key):
        raise TopviewError("4004")  # credential issued, bytes never uploaded
    if source.format not in IMAGE_FORMATS:
        raise TopviewError("4000")
    await _admit(engine, account, COSTS[REMOVE_BACKGROUND])
    notice_url = call.params.get("noticeUrl") or None
    task = engine.tasks.create(
        id=engine.ids.hex("topview.task"), provider=PROVIDER, operation=REMOVE_BACKGROUND,
        owner=account.key, lifecycle=LIFECYCLE, plan=_plan(call), payload=call.params,
        work=lambda: _remove_background(engine, account.key, source),
        cost=COSTS[REMOVE_BACKGROUND], on_finish=lambda t: _settle(engine, t))
    task.data["noticeUuid"] = engine.ids.hex("topview.notice") if notice_url else None
    call.detail["taskId"] = task.id
    return {"taskId": task.id, "status": "success", "errorMsg": None,
            "noticeUuid": task.data["noticeUuid"]}


async def remove_background_query(call: Call) -> dict[str, Any]:
    engine = call.engine
    task = _own_task(call, REMOVE_BACKGROUND)
    status = await engine.tasks.observe(task, poll=True)
    answer: dict[str, Any] = {"taskId": task.id, "status": status, **dict.fromkeys(RESULT_KEYS)}
    if status == LIFECYCLE.failure:
        answer["errorMsg"] = task.error
    elif status == LIFECYCLE.success:
        result: RemovedBackground = task.result
        cutout_key, mask_key = result_paths(result.directory)
        cloudfront = query_flag(call.params.get("needCloudFrontUrl", ""))
        answer.update(
            bgRemovedImageFileId=result.cutout_id,
            bgRemovedImagePath=result_url(call, cutout_key, cloudfront),
            bgRemovedImageWidth=result.cutout_size[0], bgRemovedImageHeight=result.cutout_size[1],
            maskImageFileId=result.mask_id,
            maskImagePath=result_url(call, mask_key, cloudfront),
            maskImageWidth=result.mask_size[0], maskImageHeight=result.mask_size[1],
            costCredit=task.cost)
    return answer


def query_flag(value: str) -> bool:
    """A boolean query parameter as the contract's ``queryBool`` admits it: ``true``/``1`` in any
    case is true; ``false``/``0``, empty or bare is false (T17)."""
    return value.lower() in ("true", "1")


def result_url(call: Call, key: str, cloudfront: bool) -> str:
    """A fresh signed URL per query, as Topview does (T17)."""
    now = call.engine.clock.now()
    if cloudfront:
        return call.engine.cloudfront.url(call.base_url, DISTRIBUTION, key, now=now,
                                          ttl=CLOUDFRONT_TTL)
    return call.engine.s3.url(call.base_url, RESULT_BUCKET, key, now=now, expires=S3_TTL)


# --- credits -----------------------------------------------------------------------------

async def credit_detail(call: Call) -> dict[str, Any]:
    account = _account(call)
    await call.engine.tasks.catch_up(PROVIDER, account.key)  # charge tasks that have ended
    return {"uid": account.key, "remainCredit": account.credits, "expiredTime": None,
            "apiKeyMap": None}


# --- shared task plumbing ----------------------------------------------------------------

def _plan(call: Call) -> Any:
    try:
        return call.fault.plan(LIFECYCLE)
    except ValueError as exc:
        raise ControlError(f"X-Mock-Fault: {exc}") from exc


async def _admit(engine: Engine, account: Account, cost: float) -> None:
    """Concurrency limit (T6) then credits (T5); reserves the credits.

    Tasks that are due wait for their image work first; after that nothing awaits, so the
    count and the task the caller creates next are one atomic step (no submit can slip in
    between and exceed the limit)."""
    await engine.tasks.catch_up(PROVIDER, account.key)
    if engine.tasks.unfinished(PROVIDER, account.key) >= account.concurrency:
        raise TopviewError("4007")
    if not engine.accounts.reserve(account, cost):
        raise TopviewError("4100")


def _settle(engine: Engine, task: Task) -> None:
    account = engine.accounts.get(PROVIDER, task.owner)
    if account is not None:
        engine.accounts.settle(account, task.cost, charge=task.succeeded)  # T10


def _own_task(call: Call, operation: str) -> Task:
    task = call.engine.tasks.get(call.params["taskId"])
    if (task is None or task.provider != PROVIDER or task.operation != operation
            or task.owner != _account(call).key):
        raise TopviewError("4004")
    call.detail["taskId"] = task.id
    return task
