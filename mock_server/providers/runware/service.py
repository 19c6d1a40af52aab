"""The task handlers: ``async def <operation>(call)`` for each task type (R5). Each answers one
item of the array (its data item, or None: no item) or raises its own error; neighbours in the
same array are handled independently (the dispatcher runs each item on its own)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bgmock.server.core import imaging, matting
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.core.tasks import Listener, Task
from bgmock.server.core.webhooks import WebhookFault
from bgmock.server.providers.runware import errors, images, jobs, removal
from bgmock.server.providers.runware.images import PROVIDER

DAY = 86400
URL_TTL = 30 * DAY      # result and upload URLs, unless a task's ttl says otherwise (D193)
REMOVAL_COST = 0.0006   # USD per background removal (R15, R26)


# --- authentication, ping ---------------------------------------------------------------------

async def authentication(call: Call) -> dict[str, Any] | None:
    """A known key authenticates the connection (WebSocket: its session, R1, R20) or the tasks
    after it (REST, which answers no item for it, R23). A bad key leaves a socket open."""
    key = call.params["apiKey"]
    if call.engine.accounts.get(PROVIDER, key) is None:
        raise errors.InvalidApiKey(parameter="apiKey", type="string")
    incoming = call.incoming
    assert incoming is not None
    incoming.key = key
    if incoming.session is None:
        return None
    incoming.session.key = key
    return {"taskType": "authentication", "connectionSessionUUID": incoming.session.id}


async def ping(call: Call) -> dict[str, Any]:
    return {"taskType": "ping", "pong": True}


# --- images -------------------------------------------------------------------------------------

def _image_ref(value: str, engine: Engine, parameter: str) -> images.ImageRef:
    try:
        return images.parse(value, engine.settings.max_image_bytes)
    except images.BadImage as exc:
        raise errors.InvalidInputImage(parameter=parameter, type="string") from exc


async def _image_bytes(engine: Engine, ref: images.ImageRef, base_url: str,
                       parameter: str) -> bytes:
    try:
        return await images.load(engine, ref, base_url)
    except images.BadImage as exc:
        raise errors.InvalidInputImage(parameter=parameter, type="string") from exc


def _image_error(exc: imaging.ImageError, parameter: str) -> errors.RunwareError:
    if isinstance(exc, imaging.ImageTooLarge):
        return errors.InvalidInputImage(f"The image is too large: {exc}.", parameter=parameter,
                                        type="string")
    return errors.InvalidInputImage(parameter=parameter, type="string")


async def image_upload(call: Call) -> dict[str, Any]:
    """Stores the image (capped at 2048 px, R14) and answers its ``imageUUID`` and
    ``imageURL`` (R6)."""
    engine, params = call.engine, call.params
    files, ttl = engine.files, URL_TTL  # this state's store (D93)
    ref = _image_ref(params["image"], engine, "image")
    image_uuid = images.new_uuid(engine, "image")
    job = jobs.Job("imageUpload", params["taskUUID"])

    async def work() -> None:
        data = await _image_bytes(engine, ref, call.base_url, "image")
        try:
            stored = await imaging.offload(images.capped_upload, data, engine.image_limits)
        except imaging.ImageError as exc:
            raise _image_error(exc, "image") from exc
        images.store(files, image_uuid, stored.data, stored.mime, ttl)
        job.item = {"taskType": "imageUpload", "taskUUID": job.task_uuid,
                    "imageUUID": image_uuid,
                    "imageURL": images.url(engine, call.base_url, image_uuid, stored.mime, ttl)}

    task = await jobs.start(call, job, 0.0, work, deferred=False)
    return await jobs.settled(engine, task)


# --- background removal -------------------------------------------------------------------------

def _http_url(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) \
            and not any(c.isspace() for c in value)
    except ValueError:
        ok = False
    if not ok:
        raise errors.InvalidParameter(name, f"Invalid value for {name} parameter. It must be "
                                      "an http(s) URL.", type="string")
    return value


async def image_background_removal(call: Call) -> dict[str, Any]:
    return await _remove(call, "imageBackgroundRemoval", legacy=True)


async def remove_background(call: Call) -> dict[str, Any]:
    return await _remove(call, "removeBackground", legacy=False)


async def _remove(call: Call, task_type: str, legacy: bool) -> dict[str, Any]:
    engine, params = call.engine, call.params
    files, hooks = engine.files, engine.webhooks  # this state's (D93)
    request = removal.read(params, legacy)
    ref = _image_ref(params["inputImage"], engine, "inputImage")
    webhook, endpoint = _http_url(params, "webhookURL"), _http_url(params, "uploadEndpoint")
    ttl = params.get("ttl")
    if ttl is not None and request.output != "imageURL":
        raise errors.UnsupportedParameter("The ttl parameter only applies to outputType URL.",
                                          parameter="ttl", type="integer")
    lifetime = ttl or URL_TTL
    deferred = params.get("deliveryMethod") == "async" or webhook is not None
    job = jobs.Job(task_type, params["taskUUID"])
    out_uuid = images.new_uuid(engine, "image")
    in_uuid = ref.uuid or images.new_uuid(engine, "image")

    async def work() -> None:
        data = await _image_bytes(engine, ref, call.base_url, "inputImage")
        try:
            matted = await imaging.offload(matting.remove_background, data,
                                           engine.image_limits, request.options)
        except imaging.ImageError as exc:
            raise _image_error(exc, "inputImage") from exc
        if ref.uuid is None:  # an input given as bytes or URL is kept as an image too
            images.store(files, in_uuid, data, _sniffed(data), URL_TTL)
        images.store(files, out_uuid, matted.data, matted.mime, lifetime)
        item: dict[str, Any] = {"taskType": task_type, "taskUUID": job.task_uuid,
                                "imageUUID": out_uuid, "inputImageUUID": in_uuid}
        job.image = (out_uuid, matted.mime)
        if request.output == "imageURL":
            item["imageURL"] = images.url(engine, call.base_url, out_uuid, matted.mime,
                                          lifetime)
        else:
            job.output = request.output
        if params.get("includeCost"):
            item["cost"] = REMOVAL_COST
        job.item = item
        if endpoint is not None:
            job.payload = matted.data

    listeners: list[Listener] = []
    fault = WebhookFault.of(call.fault)
    if webhook is not None:
        listeners.append(hooks.on_finish(PROVIDER, webhook,
                                         lambda task: (jobs.finished_body(engine, task), {}),
                                         fault))
    if endpoint is not None:
        listeners.append(_put_result(hooks, endpoint, fault))
    task = await jobs.start(call, job, REMOVAL_COST, work, deferred=deferred,
                            listeners=listeners)
    if deferred:
        return {"taskType": task_type, "taskUUID": job.task_uuid}  # R16, R21
    return await jobs.settled(engine, task)


def _put_result(hooks: Any, url: str, fault: WebhookFault) -> Listener:
    """``uploadEndpoint`` (R25): the result bytes PUT there when the task succeeds, retried
    and journaled as webhooks are."""
    def put(task: Task) -> None:
        job = jobs.job_of(task)
        data, job.payload = job.payload, None
        if task.succeeded and data is not None and job.image is not None:
            mime = job.image[1]
            hooks.schedule(PROVIDER, task.id, url,
                           {"method": "PUT", "bytes": len(data), "contentType": mime},
                           {"Content-Type": mime}, fault, method="PUT", raw=data)
    return put


def _sniffed(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


# --- getResponse ----------------------------------------------------------------------------------

async def get_response(call: Call) -> dict[str, Any]:
    assert call.account is not None
    return await jobs.polled(call.engine, call.account, call.params["taskUUID"])


HANDLERS = {"authentication": authentication, "ping": ping, "image_upload": image_upload,
            "image_background_removal": image_background_removal,
            "remove_background": remove_background, "get_response": get_response}
PUBLIC = ("authentication", "ping")
