"""PICPIK's submits: RemoveBackground and RemoveBackgroundsInBatch as tasks on the engine's
lifecycle (``Queuing -> Running -> Finished | Error``, K7), points per key (K15)."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from typing import Any

from bgmock.server.core import imaging, lifecycle
from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.core.files import FileStore
from bgmock.server.core.plan import Lifecycle
from bgmock.server.core.tasks import Listener, Task
from bgmock.server.core.timeline import Retention
from bgmock.server.providers.picpik import images
from bgmock.server.providers.picpik.errors import Echo, PicpikError

from bgmock import contracts

PROVIDER = "picpik"
LIFECYCLE = Lifecycle(pending=("Queuing", "Running"), durations=(1.0, 3.0),
                      success="Finished", failure="Error",
                      failure_message="image processing failed",
                      retention=Retention(7 * 86400))  # D185: records 7 days, files 24 h
RESULT_BUCKET = "picpik-results"
COST = 1.0          # points per image, charged on success (K15)
CONCURRENCY = 50    # unfinished tasks per key; beyond: 153 (D185)
KNOBS = ("Box", "RemoveType", "ErodeSize", "ForegroundThreshold", "BackgroundThreshold",
         "HairOptimization", "OnlyMask")
BATCH_KNOBS = KNOBS[2:]
# Action -> operation name (contracts, fault rules: snake case, D187), from the contract's
# ``select``, and back.
OPERATIONS = {op.value: op.name for route in contracts.routes(PROVIDER).values()
              for op in route.operations.values() if op.value is not None}
ACTIONS = {operation: action for action, operation in OPERATIONS.items()}


def echo(call: Call) -> Echo:
    """The request's ``Action`` and ``request_uuid`` (K5)."""
    return echo_of(call.params, call.request_id)


def echo_of(params: Any, drawn: str) -> Echo:
    body = params if isinstance(params, dict) else {}
    action, uuid = body.get("Action"), body.get("request_uuid")
    return Echo(action if isinstance(action, str) else "",
                uuid if isinstance(uuid, str) else drawn)


def tasks_of(echo: Echo) -> lifecycle.TaskKind:
    """The task vocabulary, its refusals worded for this request."""
    return lifecycle.TaskKind(PROVIDER, LIFECYCLE,
                              not_found=lambda: PicpikError(230, echo, "TaskUIDList"),
                              too_many=lambda: PicpikError(153, echo),
                              no_credits=lambda: PicpikError(520, echo))


def settings(engine: Engine) -> Any:
    return engine.settings.provider(PROVIDER)


def xid(engine: Engine) -> str:
    """A TaskUID as PICPIK makes them (K9): a 20-char ``rs/xid``, 4 bytes of (mock) time then
    8 drawn bytes, in lower-case base32hex."""
    stamp = struct.pack(">I", int(engine.clock.now()) & 0xFFFFFFFF)
    raw = stamp + bytes.fromhex(engine.ids.hex("picpik.task", 16))
    return base64.b32hexencode(raw).decode().rstrip("=").lower()


def _account(call: Call) -> Account:
    assert call.account is not None  # every PICPIK action is authenticated
    return call.account


def _image(raw: str, field: str, call: Call) -> bytes | None:
    try:
        return images.decode_raw(raw, settings(call.engine).max_image_bytes)
    except images.BadImage as exc:
        raise PicpikError(230, echo(call), field) from exc


def _knobs(call: Call, names: tuple[str, ...] = KNOBS) -> images.Knobs:
    knobs = images.Knobs.of({k: call.params[k] for k in names if k in call.params})
    if knobs.box is not None:
        x1, y1, x2, y2 = knobs.box
        if x1 >= x2 or y1 >= y2:  # D183: top-left above and left of bottom-right
            raise PicpikError(230, echo(call), "Box")
    return knobs


@dataclass(frozen=True, slots=True)
class Result:
    """A finished task's result image, once stored (the bytes live in the file store)."""

    key: str
    width: int
    height: int


def task_failure(exc: imaging.ImageError) -> RuntimeError:
    """An imaging error as the failed task's ErrorMassage (K13)."""
    if isinstance(exc, imaging.ImageTooLarge):
        return RuntimeError(f"image too large: {exc}")
    if isinstance(exc, imaging.ImageWorkerLost):
        return RuntimeError("image processing failed: the worker was lost")
    return RuntimeError("image decode failed: RawImage is not a readable image")


async def _cut(data: bytes | None, limits: imaging.Limits, knobs: images.Knobs
               ) -> images.CutResult:
    try:
        return await imaging.offload(images.cut, data, limits, knobs)
    except imaging.ImageError as exc:
        raise task_failure(exc) from exc


def store_result(files: FileStore, ttl: int) -> Listener:
    """When a task finishes well: its image goes to the file store for ``ttl`` seconds from
    then (K8), and the task keeps only where it is. ``files`` is the store of the state the
    task was submitted in (D93)."""
    def listener(task: Task) -> None:
        cut = task.result
        if task.succeeded and isinstance(cut, images.CutResult):
            key = f"results/{task.id}.png"
            files.put(RESULT_BUCKET, key, cut.png, "image/png", ttl=ttl)
            task.result = Result(key, cut.width, cut.height)
    return listener


async def _submit(call: Call, data: bytes | None, knobs: images.Knobs) -> Task:
    engine, account = call.engine, _account(call)
    files, limits = engine.files, engine.image_limits  # this state's (D93)
    payload = {k: call.params[k] for k in KNOBS if k in call.params}
    return await lifecycle.submit(
        engine, tasks_of(echo(call)), account=account, operation=call.operation,
        fault=call.fault, payload=payload, cost=COST,
        work=lambda: _cut(data, limits, knobs),
        listeners=(store_result(files, settings(engine).url_ttl),),
        task_id=xid(engine))


async def remove_background(call: Call) -> dict[str, Any]:
    knobs = _knobs(call)
    data = _image(call.params["RawImage"], "RawImage", call)
    task = await _submit(call, data, knobs)
    call.detail["TaskUID"] = task.id
    return {"TaskUID": task.id}


async def remove_backgrounds_in_batch(call: Call) -> dict[str, Any]:
    """One task per image, in order (K11); refused whole (nothing created) when the key's
    points cannot cover every image (K15) or its unfinished tasks would pass the cap (D185)."""
    knobs = _knobs(call, BATCH_KNOBS)  # no Box, no RemoveType for a batch (RBB)
    data = [_image(raw, "RawImages", call) for raw in call.params["RawImages"]]
    account, engine = _account(call), call.engine
    await engine.tasks.catch_up(PROVIDER, account.key)  # finished tasks settle first
    if engine.tasks.unfinished(PROVIDER, account.key) + len(data) > account.concurrency:
        raise PicpikError(153, echo(call))
    if account.available + 1e-9 < COST * len(data):
        raise PicpikError(520, echo(call))
    uids = [(await _submit(call, image, knobs)).id for image in data]
    call.detail["TaskUIDList"] = uids
    return {"TaskUIDList": uids}
