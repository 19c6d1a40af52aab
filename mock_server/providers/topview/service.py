"""Topview operations on the mock's state: uploads, remove-background tasks, credits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bgmock.server.core import imaging, lifecycle
from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.core.plan import Lifecycle
from bgmock.server.core.tasks import Task
from bgmock.server.core.timeline import Retention
from bgmock.server.providers.topview import callbacks
from bgmock.server.providers.topview.errors import TopviewError
from bgmock.server.providers.topview.images import ImageBook

PROVIDER = "topview"
# T14, T17: the docs' CloudFront Policy ends 72 h after the session's calls (D62); the files
# themselves stay 7 days, and every query within them signs fresh URLs. Finished tasks,
# uploads and results go after 7 days (an S3 lifecycle rule), a file not while a task still
# uses it; an upload slot when its URL dies (D92).
UPLOAD_TTL, S3_TTL, CLOUDFRONT_TTL = 3600, 86400, 72 * 3600
RETENTION = Retention(7 * 86400, midnight=True)
LIFECYCLE = Lifecycle(pending=("init", "running"), durations=(1.0, 4.0),
                      failure_message="model service unavailable", retention=RETENTION)
REMOVE_BACKGROUND = "remove_background"
COSTS = {REMOVE_BACKGROUND: 0.5}                       # T12
TASKS = lifecycle.TaskKind(PROVIDER, LIFECYCLE, not_found=lambda: TopviewError("4004"),
                           too_many=lambda: TopviewError("4007"),
                           no_credits=lambda: TopviewError("4100"))
UPLOAD_BUCKET, RESULT_BUCKET, DISTRIBUTION = "topview-upload", "aigc", "dr1coeak04nbk"
IMAGE_FORMATS = {"png", "jpg", "jpeg", "bmp", "webp"}
MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "bmp": "image/bmp",
        "webp": "image/webp", "mp4": "video/mp4", "mov": "video/quicktime",
        "avi": "video/x-msvideo", "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4"}
RESULT_KEYS = ("bgRemovedImageFileId", "bgRemovedImagePath", "bgRemovedImageWidth",
               "bgRemovedImageHeight", "maskImageFileId", "maskImagePath", "maskImageWidth",
               "maskImageHeight", "costCredit", "errorMsg")


@dataclass(slots=True)
class TopviewFile:
    file_id: str
    owner: str
    format: str
    bucket: str
    key: str


@dataclass
class TopviewState:
    """Topview's file records (fileId -> where its bytes are). A record and its stored bytes
    go together when its lifetime ends, not while an unfinished task of its owner uses it
    (checked again a lifetime later); the docs' fixtures are kept for ever."""

    files: dict[str, TopviewFile] = field(default_factory=dict)
    images: ImageBook = field(default_factory=ImageBook)  # replace results by imageId (D132)

    def add(self, engine: Engine, file: TopviewFile, keep: Retention | None) -> None:
        """Record ``file``, dropped when ``keep`` ends (None: kept for ever)."""
        self.files[file.file_id] = file
        if keep is not None:
            self._drop_at(engine, file, keep)

    def _drop_at(self, engine: Engine, file: TopviewFile, keep: Retention) -> None:
        engine.timeline.at(keep.until(engine.clock.now()), self._drop, (engine, file, keep))

    def _drop(self, entry: tuple[Engine, TopviewFile, Retention]) -> None:
        engine, file, keep = entry
        if self.files.get(file.file_id) is not file:
            return
        if any(file.file_id in task.payload.values()  # any of its file-id fields
               for task in engine.tasks.open_tasks(PROVIDER, file.owner)):
            self._drop_at(engine, file, keep)  # a running task still reads it
            return
        del self.files[file.file_id]
        engine.files.expire(file.bucket, file.key)


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
                               MIME[fmt], ttl=UPLOAD_TTL)
    state(engine).add(engine, TopviewFile(file_id, owner, fmt, UPLOAD_BUCKET, key), RETENTION)
    url = engine.s3.url(call.base_url, UPLOAD_BUCKET, key, now=engine.clock.now(),
                        expires=UPLOAD_TTL, method="PUT")
    return {"fileId": file_id, "fileName": f"{file_id}.{fmt}", "format": fmt, "uploadUrl": url}


async def upload_check(call: Call) -> bool:
    file = _own_file(call, call.params["fileId"])
    return call.engine.files.exists(file.bucket, file.key)


# --- remove background -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
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


def register_result(engine: Engine, owner: str, result: RemovedBackground,
                    keep: Retention | None = RETENTION,
                    keys: tuple[str, str] | None = None) -> None:
    """Record a task's result files (``keep`` None: for ever, the fixtures)."""
    cutout_key, mask_key = keys or result_paths(result.directory)
    files = state(engine)
    files.add(engine, TopviewFile(result.cutout_id, owner, "png", RESULT_BUCKET, cutout_key),
              keep)
    files.add(engine, TopviewFile(result.mask_id, owner, "png", RESULT_BUCKET, mask_key), keep)


def task_failure(exc: imaging.ImageError) -> RuntimeError:
    """An imaging error as the task's failure message, in Topview's words."""
    if isinstance(exc, imaging.ImageTooLarge):
        return RuntimeError(f"image too large: {exc}")
    if isinstance(exc, imaging.ImageWorkerLost):  # killed, out of memory (D150)
        return RuntimeError("image processing failed: the worker was lost")
    return RuntimeError("image decode failed: the file is not a readable image")


Size = tuple[int, int]


def render_cutout(data: bytes, limits: imaging.Limits) -> tuple[bytes, bytes, tuple[Size, Size]]:
    """PNG cut-out cropped to the subject and PNG mask at the original size (T16), and their
    sizes (only bytes and numbers come back from the imaging worker)."""
    cut = imaging.cut_out(imaging.pixels(data, limits))
    return (imaging.encode(cut.cropped, "png"), imaging.encode(cut.mask, "png"),
            (cut.cropped.size, cut.mask.size))


async def _remove_background(engine: Engine, owner: str, source: TopviewFile) -> RemovedBackground:
    # The stores of the state this task was submitted in: a reset cancels this work, and
    # even so nothing of it could reach the fresh state (D93).
    files, ids, tasks = engine.files, engine.ids, engine.tasks
    obj = files.get(source.bucket, source.key)
    if obj is None:
        raise RuntimeError("source image is gone")
    try:
        cutout_png, mask_png, (cropped_size, mask_size) = await files.derive(
            obj, render_cutout, engine.image_limits)
    except imaging.ImageError as exc:
        raise task_failure(exc) from exc
    if tasks.closed:
        raise RuntimeError("the mock was reset")
    result = RemovedBackground(ids.hex("topview.dir"), ids.hex("topview.file"),
                               ids.hex("topview.file"), cropped_size, mask_size)
    cutout_key, mask_key = result_paths(result.directory)
    files.put(RESULT_BUCKET, cutout_key, cutout_png, "image/png")  # kept as its record
    files.put(RESULT_BUCKET, mask_key, mask_png, "image/png")
    register_result(engine, owner, result, keys=(cutout_key, mask_key))  # one copy of each
    return result


async def remove_background_submit(call: Call) -> dict[str, Any]:
    engine, account = call.engine, _account(call)
    source = _own_file(call, call.params["productImageFileId"])
    if not engine.files.exists(source.bucket, source.key):
        raise TopviewError("4004")  # credential issued, bytes never uploaded
    if source.format not in IMAGE_FORMATS:
        raise TopviewError("4000")
    task = await lifecycle.submit(
        engine, TASKS, account=account, operation=REMOVE_BACKGROUND, fault=call.fault,
        payload=call.params, cost=COSTS[REMOVE_BACKGROUND],
        work=lambda: _remove_background(engine, account.key, source),
        listeners=callbacks.listeners(call, REMOVE_BACKGROUND))
    task.data["noticeUuid"] = callbacks.notice_uuid(engine, call)
    call.detail["taskId"] = task.id
    return {"taskId": task.id, "status": "success", "errorMsg": None,
            "noticeUuid": task.data["noticeUuid"]}


async def remove_background_query(call: Call) -> dict[str, Any]:
    return await polled(call, TASKS, REMOVE_BACKGROUND, remove_background_result)


async def polled(call: Call, kind: lifecycle.TaskKind, operation: str,
                 result: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A task query: the caller's task of ``operation`` (else ``4004``), polled, and its
    ``result`` object as ``result(engine, base_url, task, cloudfront)`` builds it (the same
    function gives the callback's, T28)."""
    task = lifecycle.owned(call.engine, kind, call.params["taskId"], _account(call).key,
                           operation)
    call.detail["taskId"] = task.id
    await call.engine.tasks.observe(task, poll=True)
    return result(call.engine, call.base_url, task,
                  query_flag(call.params.get("needCloudFrontUrl", "")))


def remove_background_result(engine: Engine, base_url: str, task: Task,
                             cloudfront: bool = False) -> dict[str, Any]:
    """The query's ``result`` for the task as it stands (also the callback's, T28)."""
    answer: dict[str, Any] = {"taskId": task.id, "status": task.status,
                              **dict.fromkeys(RESULT_KEYS)}
    if task.status == LIFECYCLE.failure:
        answer["errorMsg"] = task.error
    elif task.status == LIFECYCLE.success:
        result: RemovedBackground = task.result
        cutout_key, mask_key = result_paths(result.directory)
        answer.update(
            bgRemovedImageFileId=result.cutout_id,
            bgRemovedImagePath=signed_url(engine, base_url, cutout_key, cloudfront),
            bgRemovedImageWidth=result.cutout_size[0], bgRemovedImageHeight=result.cutout_size[1],
            maskImageFileId=result.mask_id,
            maskImagePath=signed_url(engine, base_url, mask_key, cloudfront),
            maskImageWidth=result.mask_size[0], maskImageHeight=result.mask_size[1],
            costCredit=task.cost)
    return answer


def query_flag(value: str) -> bool:
    """A boolean query parameter as the contract's ``queryBool`` admits it: ``true``/``1`` in any
    case is true; ``false``/``0``, empty or bare is false (T17)."""
    return value.lower() in ("true", "1")


def result_url(call: Call, key: str, cloudfront: bool) -> str:
    """A fresh signed URL per query, as Topview does (T17)."""
    return signed_url(call.engine, call.base_url, key, cloudfront)


def signed_url(engine: Engine, base_url: str, key: str, cloudfront: bool) -> str:
    """:func:`result_url` without a request (a callback's ``result`` is built from a task)."""
    now = engine.clock.now()
    if cloudfront:
        return engine.cloudfront.url(base_url, DISTRIBUTION, key, now=now, ttl=CLOUDFRONT_TTL)
    return engine.s3.url(base_url, RESULT_BUCKET, key, now=now, expires=S3_TTL)


callbacks.register(REMOVE_BACKGROUND, callbacks.BIZ_TYPES[REMOVE_BACKGROUND],
                   remove_background_result)


# --- notice check ------------------------------------------------------------------------

async def notice_url_check(call: Call) -> bool:
    """T34: the contract admits only an http(s) URL (anything else is ``4000``), so a request
    that gets here is answered ``true``."""
    return True


# --- credits -----------------------------------------------------------------------------

async def credit_detail(call: Call) -> dict[str, Any]:
    account = _account(call)
    await call.engine.tasks.catch_up(PROVIDER, account.key)  # charge tasks that have ended
    return {"uid": account.key, "remainCredit": account.credits, "expiredTime": None,
            "apiKeyMap": None}
