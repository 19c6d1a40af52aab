"""Product background (AnyShoot v2): the cut-out placed at ``location`` on a background.

Modes (T18, T22): ``image`` composites onto the uploaded ``templateImageFileId``, ``prompt``
onto a scene made deterministically from ``prompt``, ``template`` onto a fixture template
(``templateId``, D123). One PNG result at the aspect ratio asked (D121), listed in
``anyfitImages``. The composite is real and runs off the event loop (:func:`render`, a
module-level function with picklable arguments, for the imaging pool).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bgmock.server.core import compose, imaging, lifecycle
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.core.tasks import Task
from bgmock.server.core.timeline import Retention
from bgmock.server.providers.topview import callbacks, service
from bgmock.server.providers.topview.errors import TopviewError
from bgmock.server.providers.topview.service import LIFECYCLE, RESULT_BUCKET, TopviewFile

PRODUCT_BACKGROUND = "product_background"
COST = 1.0                                                        # T12
DEFAULT_RATIO = "1:1"                                             # T33
# T33: without a location the product covers the middle 60 % of the canvas.
DEFAULT_LOCATION: compose.Quad = ((0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8))
# D123: the templates ``mode: "template"`` knows (no template list is served yet).
TEMPLATE_IDS = ("5c0b1f7a2e4d4e3f9a8b7c6d5e4f3a21", "8e2d4c6b0a1f4e3d9c8b7a6f5e4d3c21",
                "b1a2c3d4e5f6478899aabbccddeeff00")


@dataclass(frozen=True, slots=True)
class Background:
    """What a finished product-background task points at."""

    directory: str
    file_id: str
    size: tuple[int, int]


def result_key(directory: str) -> str:
    return f"analyzed_video/task/object_replace_llm/{directory}/0_resized.png"


# --- the composite (runs in the imaging pool) ---------------------------------------------

def render(cutout: bytes, template: bytes | None, seed: str, size: tuple[int, int],
           quad: compose.Quad, limits: imaging.Limits) -> bytes:
    """PNG of ``cutout`` placed at ``quad`` on ``template`` (cover-fitted to ``size``) or, with
    no template, on :func:`compose.scene` of ``seed``. A cut-out without transparency is cut
    out first (segmented as remove background does)."""
    product = imaging.decode(cutout, limits)
    if product.getchannel("A").getextrema()[0] == 255:  # an ordinary photo: cut it out
        product = imaging.cut_out(product).cropped
    width, height = size
    if template is not None:
        canvas = compose.cover(imaging.decode(template, limits).convert("RGB"), width, height)
    else:
        canvas = compose.scene(seed, width, height)
    return imaging.encode(compose.place(canvas, product, quad).convert("RGB"), "png")


# --- submit and query --------------------------------------------------------------------

def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name) or ""
    if not value:
        raise TopviewError("4003")  # T3: required in this mode
    return str(value)


def _image(call: Call, file_id: str) -> TopviewFile:
    """The caller's uploaded (or produced) image ``file_id``, or 4004 / 4000 (T4, T15)."""
    file = service._own_file(call, file_id)
    if not call.engine.files.exists(file.bucket, file.key):
        raise TopviewError("4004")  # credential issued, bytes never uploaded
    if file.format not in service.IMAGE_FORMATS:
        raise TopviewError("4000")
    return file


def _quad(params: dict[str, Any]) -> compose.Quad:
    points = params.get("location")
    if points is None:  # absent (the schema wants exactly four points otherwise)
        return DEFAULT_LOCATION
    quad = tuple((float(x), float(y)) for x, y in points)
    if compose.quad_problem(quad) is not None:  # type: ignore[arg-type]
        raise TopviewError("4000")  # T21
    return quad  # type: ignore[return-value]


async def submit(call: Call) -> dict[str, Any]:
    engine, account, params = call.engine, service._account(call), call.params
    mode = params["mode"]
    product = _image(call, params["productImageWithoutBackgroundFileId"])
    template: TopviewFile | None = None
    seed = ""
    if mode == "image":
        template = _image(call, _required(params, "templateImageFileId"))
    elif mode == "prompt":
        seed = f"prompt:{_required(params, 'prompt')}"
    else:
        template_id = _required(params, "templateId")
        if template_id not in TEMPLATE_IDS:
            raise TopviewError("4004")  # T32
        seed = f"template:{template_id}"
    quad = _quad(params)
    size = compose.canvas_size(params.get("aspectRatio") or DEFAULT_RATIO)
    task = await lifecycle.submit(
        engine, service.TASKS, account=account, operation=PRODUCT_BACKGROUND, fault=call.fault,
        payload=params, cost=COST,
        work=lambda: _work(engine, account.key, product, template, seed, size, quad),
        listeners=callbacks.listeners(call, PRODUCT_BACKGROUND))
    task.data["noticeUuid"] = callbacks.notice_uuid(engine, call)
    call.detail["taskId"] = task.id
    return {"taskId": task.id, "status": "success", "errorMsg": None,
            "noticeUuid": task.data["noticeUuid"]}


async def _work(engine: Engine, owner: str, product: TopviewFile, template: TopviewFile | None,
                seed: str, size: tuple[int, int], quad: compose.Quad) -> Background:
    # The stores of the state this task was submitted in (D93): a reset cannot leak into them.
    files, ids, tasks = engine.files, engine.ids, engine.tasks
    sources = [files.get(product.bucket, product.key)]
    if template is not None:
        sources.append(files.get(template.bucket, template.key))
    if any(obj is None for obj in sources):
        raise RuntimeError("source image is gone")
    data = [await obj.read() for obj in sources if obj is not None]
    try:
        png = await imaging.offload(render, data[0], data[1] if template else None, seed, size,
                                    quad, engine.image_limits)
    except imaging.ImageError as exc:
        raise service.task_failure(exc) from exc
    if tasks.closed:
        raise RuntimeError("the mock was reset")
    result = Background(ids.hex("topview.dir"), ids.hex("topview.file"), size)
    files.put(RESULT_BUCKET, result_key(result.directory), png, "image/png")
    register(engine, owner, result)
    return result


def register(engine: Engine, owner: str, result: Background,
             keep: Retention | None = service.RETENTION) -> None:
    """Record the result file (``keep`` None: for ever, the docs' fixtures)."""
    service.state(engine).add(engine, TopviewFile(result.file_id, owner, "png", RESULT_BUCKET,
                                                  result_key(result.directory)), keep)


def query_result(engine: Engine, base_url: str, task: Task, cloudfront: bool = False
                 ) -> dict[str, Any]:
    """The query's ``result`` object for ``task`` as it stands (also the callback's ``result``,
    T28): every key present, ``anyfitImages`` empty until success (T9)."""
    answer: dict[str, Any] = {"taskId": task.id, "status": task.status, "anyfitImages": [],
                              "costCredit": None, "errorMsg": None}
    if task.status == LIFECYCLE.failure:
        answer["errorMsg"] = task.error
    elif task.status == LIFECYCLE.success:
        result: Background = task.result
        url = service.signed_url(engine, base_url, result_key(result.directory), cloudfront)
        answer.update(anyfitImages=[{"url": url}], costCredit=task.cost)
    return answer


async def query(call: Call) -> dict[str, Any]:
    return await service.polled(call, service.TASKS, PRODUCT_BACKGROUND, query_result)


callbacks.register(PRODUCT_BACKGROUND, callbacks.BIZ_TYPES[PRODUCT_BACKGROUND],  # T28, T29
                   query_result)
