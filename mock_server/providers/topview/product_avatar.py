"""Product avatar: replace product image, manual | auto (sheet endpoints 8, 9), and the helpers
image2Video (:mod:`.image_to_video`) shares.

Replace puts the cut-out into the avatar's or template's image (real composites, made off the
event loop, :mod:`.placement`) and remembers each result's ``imageId`` (:mod:`.images`). The
query's result object is built by :func:`query_result` (``(engine, base_url, task)``), which the
query handler and the callbacks share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bgmock.server.core import imaging, lifecycle
from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.core.plan import Lifecycle
from bgmock.server.core.tasks import Task
from bgmock.server.providers.topview import avatars, callbacks, placement, service
from bgmock.server.providers.topview.errors import TopviewError
from bgmock.server.providers.topview.images import ReplacedImage
from bgmock.server.providers.topview.service import (
    CLOUDFRONT_TTL,
    DISTRIBUTION,
    IMAGE_FORMATS,
    PROVIDER,
    RESULT_BUCKET,
    RETENTION,
    S3_TTL,
    TopviewFile,
)

REPLACE, IMAGE2VIDEO = "replace_product_image", "image_to_video"
# The callback's bizType of each (T29).
BIZ_TYPES = {REPLACE: "PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE",
             IMAGE2VIDEO: "PRODUCT_AVATAR_IMAGE2VIDEO"}
# D130: replace takes longer than remove background (seconds of mock time).
REPLACE_LIFECYCLE = Lifecycle(pending=("init", "running"), durations=(2.0, 8.0),
                              failure_message="model service unavailable", retention=RETENTION)


def task_kind(states: Lifecycle) -> lifecycle.TaskKind:
    return lifecycle.TaskKind(PROVIDER, states, not_found=lambda: TopviewError("4004"),
                              too_many=lambda: TopviewError("4007"),
                              no_credits=lambda: TopviewError("4100"))


REPLACE_TASKS = task_kind(REPLACE_LIFECYCLE)
REPLACE_COST = 0.5                                                        # T12


def account(call: Call) -> Account:
    assert call.account is not None  # every Topview operation is authenticated
    return call.account


def own_file(call: Call, file_id: str) -> TopviewFile:
    """The caller's uploaded (or made) file, bytes present; else ``4004`` (T4)."""
    file = service.state(call.engine).files.get(file_id)
    if (file is None or file.owner != account(call).key
            or not call.engine.files.exists(file.bucket, file.key)):
        raise TopviewError("4004")
    return file


async def read(engine: Engine, bucket: str, key: str) -> bytes:
    obj = engine.files.get(bucket, key)
    if obj is None:
        raise RuntimeError("source image is gone")
    return await obj.read()


def notice(call: Call, task: Task) -> dict[str, Any]:
    """The submit's answer (T8); ``noticeUuid`` as remove background gives it."""
    task.data["noticeUuid"] = callbacks.notice_uuid(call.engine, call)
    call.detail["taskId"] = task.id
    return {"taskId": task.id, "status": "success", "errorMsg": None,
            "noticeUuid": task.data["noticeUuid"]}


def signed_url(engine: Engine, base_url: str, bucket: str, key: str, cloudfront: bool) -> str:
    """A fresh signed URL per query (T17)."""
    now = engine.clock.now()
    if cloudfront and bucket == RESULT_BUCKET:
        return engine.cloudfront.url(base_url, DISTRIBUTION, key, now=now, ttl=CLOUDFRONT_TTL)
    return engine.s3.url(base_url, bucket, key, now=now, expires=S3_TTL)


def guarded(fn: Any, *args: Any) -> Any:
    """``imaging`` errors as task failures, in Topview's words."""
    try:
        return fn(*args)
    except imaging.ImageError as exc:
        raise service.task_failure(exc) from exc


# --- replace product image ---------------------------------------------------------------

@dataclass(frozen=True)
class ReplaceJob:
    """What one replace task reads: where its template and cut-out are, and where the product
    goes (picklable, for the imaging pool)."""

    template: tuple[str, str]
    cutout: tuple[str, str]
    quad: placement.Quad
    close_up: bool


def _template(call: Call) -> tuple[str, str]:
    """``templateImageFileId`` wins over ``avatarId``; neither -> ``4003``, unknown -> ``4004``."""
    params = call.params
    file_id, avatar_id = params.get("templateImageFileId") or "", params.get("avatarId") or ""
    if file_id:
        template = own_file(call, file_id)
        if template.format not in IMAGE_FORMATS:
            raise TopviewError("4000")
        return template.bucket, template.key
    if avatar_id:
        avatar = avatars.BY_ID.get(avatar_id)
        if avatar is None:
            raise TopviewError("4004")
        return RESULT_BUCKET, avatar.key
    raise TopviewError("4003")


def replace_job(call: Call) -> ReplaceJob:
    """The request checked (T3, T4, T21), in the order a client fixes them."""
    params = call.params
    cutout = own_file(call, params["productImageWithoutBackgroundFileId"])
    if cutout.format not in IMAGE_FORMATS:
        raise TopviewError("4000")
    template = _template(call)
    face = params.get("userFaceImageFileId") or ""
    if face and own_file(call, face).format not in IMAGE_FORMATS:
        raise TopviewError("4000")
    if params["generateImageMode"] == "manual":
        if params.get("location") is None:
            raise TopviewError("4003")
        quad = placement.check_location(params["location"])
        if quad is None:
            raise TopviewError("4000")
        return ReplaceJob(template, (cutout.bucket, cutout.key), quad, close_up=True)
    quad = placement.auto_location(params.get("imageEditPrompt") or "")
    return ReplaceJob(template, (cutout.bucket, cutout.key), quad, close_up=False)


def result_key(directory: str) -> str:
    return f"analyzed_video/task/object_replace_llm/{directory}/{directory}_0.png"


async def _replace(engine: Engine, owner: str, job: ReplaceJob) -> tuple[ReplacedImage, ...]:
    files, ids, tasks, book = engine.files, engine.ids, engine.tasks, service.state(
        engine).images  # this state's stores: a reset fences the work (D93)
    template, cutout = await read(engine, *job.template), await read(engine, *job.cutout)
    rendered = await imaging.offload(guarded, placement.replace_product, template, cutout,
                                     job.quad, job.close_up, engine.image_limits)
    if tasks.closed:
        raise RuntimeError("the mock was reset")
    made = []
    for index, image in enumerate(rendered):
        key = result_key(ids.hex("topview.dir"))
        files.put(RESULT_BUCKET, key, image.png, "image/png", ttl=RETENTION)
        record = ReplacedImage(ids.hex("topview.image"), owner, index == 0, RESULT_BUCKET, key)
        book.add(engine, record, RETENTION)
        made.append(record)
    return tuple(made)


async def replace_submit(call: Call) -> dict[str, Any]:
    engine, caller = call.engine, account(call)
    job = replace_job(call)
    task = await lifecycle.submit(
        engine, REPLACE_TASKS, account=caller, operation=REPLACE, fault=call.fault,
        payload=call.params, cost=REPLACE_COST,
        work=lambda: _replace(engine, caller.key, job),
        listeners=callbacks.listeners(call, REPLACE))
    return notice(call, task)


def replace_query_result(engine: Engine, base_url: str, task: Task,
                         cloudfront: bool = False) -> dict[str, Any]:
    """The query's ``result`` object for ``task`` as it stands (T9, T23)."""
    answer: dict[str, Any] = {"taskId": task.id, "status": task.status,
                              "replaceProductResult": [], "costCredit": None, "errorMsg": None}
    if task.status == REPLACE_LIFECYCLE.failure:
        answer["errorMsg"] = task.error
    elif task.status == REPLACE_LIFECYCLE.success:
        answer["replaceProductResult"] = [
            {"imageId": image.image_id, "faceExistence": image.face_existence,
             "url": signed_url(engine, base_url, image.bucket, image.key, cloudfront)}
            for image in task.result]
        answer["costCredit"] = task.cost
    return answer


async def replace_query(call: Call) -> dict[str, Any]:
    return await service.polled(call, REPLACE_TASKS, REPLACE, replace_query_result)


def query_result(engine: Engine, base_url: str, task: Task) -> dict[str, Any]:
    """The query result object of a replace task (for callbacks; T28)."""
    return replace_query_result(engine, base_url, task)


callbacks.register(REPLACE, BIZ_TYPES[REPLACE], query_result)  # T28, T29
