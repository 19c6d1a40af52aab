"""Runware tasks on the engine's task store: one record per accepted task, keyed by its
``taskUUID`` (unique across the mock, D195), kept 24 h after it ends for ``getResponse`` (R19).

Sync tasks (the default) answer when their work is done: mock-clock durations never hold them
(a virtual clock would hang the call), ``fail`` ends them failed and ``stuck`` leaves them
``processing`` while the call answers ``timeoutProvider`` (D194). Deferred tasks (``deliveryMethod``
async, or a ``webhookURL``: R16, R21) are acknowledged at once and follow the mock clock:
``processing`` for :data:`ASYNC_SECONDS`, then ``success`` or ``error``; faults shape them
like any provider's tasks (``duration``, ``polls``, ``stuck``, ``fail``)."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from bgmock.server.core import lifecycle
from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.core.plan import Lifecycle
from bgmock.server.core.tasks import Listener, Task
from bgmock.server.core.timeline import Retention
from bgmock.server.providers.runware import errors
from bgmock.server.providers.runware.images import BUCKET, PROVIDER, encoded

DAY = 86400.0
ASYNC_SECONDS = 2.0   # mock seconds a deferred task stays processing (D194)
LIFECYCLE = Lifecycle(pending=("processing",), durations=(ASYNC_SECONDS,), success="success",
                      failure="error", failure_message=errors.TimeoutProvider.default_message,
                      retention=Retention(DAY))
KIND = lifecycle.TaskKind(PROVIDER, LIFECYCLE, not_found=errors.TaskNotFound,
                          too_many=errors.RateLimitExceeded,
                          no_credits=errors.InsufficientCredits)
HEAVY = {"imageBase64Data", "imageDataURI"}  # made from the stored file when answered


@dataclass(slots=True)
class Job:
    """What a task answers with. ``item`` is the result without its heavy field (base64 data
    is made from the stored image on each answer, not kept for 24 h); ``output`` names that
    field; ``error`` the task's own failure (an undecodable image, ...)."""

    task_type: str
    task_uuid: str
    item: dict[str, Any] | None = None
    output: str | None = None           # imageBase64Data | imageDataURI, or None
    image: tuple[str, str] | None = None  # (imageUUID, mime) the heavy field is made from
    error: errors.RunwareError | None = None
    payload: bytes | None = field(default=None, repr=False)  # for uploadEndpoint, then dropped

    def answer(self, engine: Engine) -> dict[str, Any]:
        """The data item of a finished, successful task."""
        assert self.item is not None
        if self.output is None or self.image is None:
            return dict(self.item)
        obj = engine.files.get(BUCKET, self.image[0])
        if obj is None or obj.data is None:
            raise errors.MediaNotFound(task_type=self.task_type, task_uuid=self.task_uuid)
        return {**self.item, self.output: encoded(obj.data, self.image[1], self.output)}

    def failure(self, task: Task) -> errors.RunwareError:
        """The error a failed task reports (getResponse, webhook): status "error", the
        original task's type and UUID, answered with HTTP 200 on REST (D196)."""
        found = copy.copy(self.error) if self.error is not None \
            else errors.TimeoutProvider(task.error)
        found.extra = {**found.extra, "status": "error"}
        found.task_type, found.task_uuid = self.task_type, self.task_uuid
        found.status = 200
        return found


def job_of(task: Task) -> Job:
    return task.data["job"]  # type: ignore[no-any-return]


def taken(engine: Engine, task_uuid: str) -> bool:
    return engine.tasks.get(task_uuid) is not None


async def start(call: Call, job: Job, cost: float, work: Callable[[], Awaitable[Any]], *,
                deferred: bool, listeners: Iterable[Listener] = ()) -> Task:
    """Admit (credits, concurrency) and create the task ``job`` describes."""
    engine, account = call.engine, call.account
    assert account is not None
    if taken(engine, job.task_uuid):
        raise errors.ConflictTaskUUID(parameter="taskUUID", type="string")
    plan = lifecycle.plan(call.fault, LIFECYCLE)
    if not deferred:  # D194: a sync task ends when its work does
        plan = replace(plan, polls=None, duration=0.0)
    await lifecycle.admit(engine, KIND, account, cost)
    if taken(engine, job.task_uuid):  # the same UUID arrived while admission waited
        engine.accounts.settle(account, cost, charge=False)
        raise errors.ConflictTaskUUID(parameter="taskUUID", type="string")

    async def run() -> Any:
        try:
            return await work()
        except errors.RunwareError as exc:
            job.error = exc
            raise

    task = engine.tasks.create(
        id=job.task_uuid, provider=PROVIDER, operation=call.operation, owner=account.key,
        lifecycle=LIFECYCLE, plan=plan, payload={"taskType": job.task_type}, work=run,
        cost=cost, listeners=(lifecycle.settle_credits(engine), *listeners))
    task.data["job"] = job
    return task


async def settled(engine: Engine, task: Task) -> dict[str, Any]:
    """A sync task's answer: its item once its work is done, or its error (D194)."""
    job = job_of(task)
    if task.plan.stuck:
        raise errors.TimeoutProvider()
    await engine.tasks.observe(task)
    if task.succeeded:
        return job.answer(engine)
    failure = job.error or errors.TimeoutProvider(task.error)
    raise failure


async def polled(engine: Engine, account: Account, task_uuid: str) -> dict[str, Any]:
    """``getResponse``: the caller's task now (R16, R19)."""
    task = engine.tasks.get(task_uuid)
    if task is None or task.provider != PROVIDER or task.owner != account.key \
            or "job" not in task.data:
        raise errors.TaskNotFound(parameter="taskUUID", type="string")
    await engine.tasks.observe(task, poll=True)
    job = job_of(task)
    if not task.finished:
        return {"taskType": job.task_type, "taskUUID": task_uuid, "status": "processing"}
    if task.succeeded:
        return {**job.answer(engine), "status": "success"}
    raise job.failure(task)


def finished_body(engine: Engine, task: Task) -> dict[str, Any]:
    """A finished task as a webhook body: its result item (status success) or its error
    object (status error), R17."""
    job = job_of(task)
    if task.succeeded:
        try:
            return {**job.answer(engine), "status": "success"}
        except errors.RunwareError as exc:
            return exc.item()
    return job.failure(task).item()
