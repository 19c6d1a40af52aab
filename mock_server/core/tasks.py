"""A generic asynchronous task lifecycle.

Each provider describes its states as data (:class:`Lifecycle`); each task gets a
:class:`TaskPlan` at submit time (defaults, ``X-Mock-Fault`` directives, fault rules). Nothing
runs on a timer: a task's state is worked out when somebody reads it ("lazy advance"), from the
mock clock or from the number of polls, so a virtual clock or ``polls=N`` gives exact,
sleep-free control.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bgmock.server.core.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lifecycle:
    pending: tuple[str, ...]
    durations: tuple[float, ...]
    success: str = "success"
    failure: str = "fail"
    failure_message: str = "task failed"

    def __post_init__(self) -> None:
        if len(self.pending) != len(self.durations) or not self.pending:
            raise ValueError("one duration per pending state, at least one state")

    @property
    def states(self) -> tuple[str, ...]:
        return (*self.pending, self.success, self.failure)


@dataclass
class TaskPlan:
    """How one task progresses; fixed when it is accepted."""

    polls: int | None = None
    duration: float | None = None
    fail: bool = False
    fail_message: str | None = None
    fail_at: str | None = None
    stuck_at: str | None = None

    def check(self, lifecycle: Lifecycle) -> None:
        for name in ("fail_at", "stuck_at"):
            state = getattr(self, name)
            if state is not None and state not in lifecycle.pending:
                raise ValueError(f"{name}={state!r}: not one of {', '.join(lifecycle.pending)}")
        if self.polls is not None and self.polls < 1:
            raise ValueError("polls must be >= 1")
        if self.duration is not None and self.duration < 0:
            raise ValueError("duration must be >= 0")


Work = Callable[[], Awaitable[Any]]


@dataclass
class Task:
    id: str
    provider: str
    operation: str
    owner: str
    lifecycle: Lifecycle
    plan: TaskPlan
    created_at: float
    payload: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    cost: float = 0.0
    polls: int = 0
    status: str = ""
    finished_at: float | None = None
    error: str | None = None
    result: Any = None
    work: asyncio.Future[Any] | None = field(default=None, repr=False)
    on_finish: Callable[[Task], None] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def succeeded(self) -> bool:
        return self.status == self.lifecycle.success

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "operation": self.operation,
            "owner": self.owner,
            "status": self.status,
            "createdAt": self.created_at,
            "finishedAt": self.finished_at,
            "polls": self.polls,
            "plan": {k: v for k, v in asdict(self.plan).items() if v not in (None, False)},
            "cost": self.cost,
            "error": self.error,
            "payload": self.payload,
        }


class TaskEngine:
    def __init__(self, clock: Clock, instant: bool = False) -> None:
        self.clock = clock
        self.instant = instant
        self.tasks: dict[str, Task] = {}

    def create(self, *, id: str, provider: str, operation: str, owner: str,
               lifecycle: Lifecycle, plan: TaskPlan, payload: dict[str, Any],
               work: Work | None = None, cost: float = 0.0,
               on_finish: Callable[[Task], None] | None = None) -> Task:
        plan.check(lifecycle)
        if self.instant and plan.polls is None and plan.duration is None:
            plan.polls = 1
        task = Task(id=id, provider=provider, operation=operation, owner=owner,
                    lifecycle=lifecycle, plan=plan, created_at=self.clock.now(),
                    payload=payload, cost=cost, on_finish=on_finish,
                    status=lifecycle.pending[0])
        if work is not None:
            task.work = asyncio.ensure_future(work())
            task.work.add_done_callback(_retrieve_exception)
        self.tasks[id] = task
        return task

    def add_finished(self, task: Task) -> Task:
        """Register a task that is already terminal (fixtures)."""
        self.tasks[task.id] = task
        return task

    def get(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id)

    def select(self, provider: str | None = None, owner: str | None = None) -> list[Task]:
        return [t for t in self.tasks.values()
                if (provider is None or t.provider == provider)
                and (owner is None or t.owner == owner)]

    async def observe(self, task: Task, *, poll: bool = False) -> str:
        """The task's state now; a ``poll`` counts towards a ``polls=N`` plan."""
        if task.finished:
            return task.status
        if poll:
            task.polls += 1
        state = self._planned_state(task)
        if state is None:
            await self._finish(task)
        else:
            task.status = state
        return task.status

    def unfinished(self, provider: str, owner: str) -> int:
        """How many of ``owner``'s tasks are not terminal now, without awaiting anything, so that
        admission (count, then create) cannot interleave with another submit. A task whose time
        is up and whose work is done is finished on the spot; one whose work still runs counts."""
        pending = 0
        for task in self.select(provider, owner):
            if task.finished:
                continue
            state = self._planned_state(task)
            if state is not None:
                task.status = state
                pending += 1
            elif task.plan.fail or task.work is None or task.work.done():
                self._conclude(task)
            else:
                pending += 1
        return pending

    async def catch_up(self, provider: str | None = None, owner: str | None = None) -> int:
        """Bring every unfinished task up to now (settling credits of those that ended);
        returns how many are still unfinished."""
        pending = 0
        for task in self.select(provider, owner):
            if not task.finished and (await self.observe(task)) in task.lifecycle.pending:
                pending += 1
        return pending

    def _path(self, task: Task) -> list[tuple[str, float]]:
        """The pending states this task passes through, with their durations; a ``duration``
        plan spreads its total evenly over the states actually travelled."""
        lc, plan = task.lifecycle, task.plan
        states = list(lc.pending)
        if plan.fail and plan.fail_at is not None:
            states = states[: lc.pending.index(plan.fail_at) + 1]
        if plan.duration is not None:
            return [(state, plan.duration / len(states)) for state in states]
        return list(zip(states, lc.durations, strict=False))

    def _planned_state(self, task: Task) -> str | None:
        """The pending state the task is in, or None once it is due to be terminal."""
        path = self._path(task)
        states = [state for state, _ in path]
        stuck = task.plan.stuck_at if task.plan.stuck_at in states else None
        if task.plan.polls is not None:
            index = min(max(task.polls - 1, 0), len(path) - 1)
            if stuck is not None:
                return states[min(index, states.index(stuck))]
            return None if task.polls >= task.plan.polls else states[index]
        elapsed = self.clock.now() - task.created_at
        for state, seconds in path:
            if state == stuck:
                return state
            elapsed -= self.clock.scaled(seconds)
            if elapsed < 0:
                return state
        return None

    async def _finish(self, task: Task) -> None:
        if task.work is not None and not task.plan.fail:
            with contextlib.suppress(Exception):  # _conclude reads the outcome from the future
                await asyncio.shield(task.work)
        self._conclude(task)

    def _conclude(self, task: Task) -> None:
        """Make the task terminal (its work, if any, is done or not wanted)."""
        if task.finished:  # another reader finished it while we awaited
            return
        failure = task.plan.fail_message if task.plan.fail else None
        if task.plan.fail and failure is None:
            failure = task.lifecycle.failure_message
        work = task.work
        if work is not None and not task.plan.fail:
            if work.cancelled():
                failure = task.lifecycle.failure_message
            elif (exc := work.exception()) is not None:  # the task fails, not its reader
                log.info("task %s work failed: %s", task.id, exc)
                failure = str(exc) or task.lifecycle.failure_message
            else:
                task.result = work.result()
        task.finished_at = self.clock.now()
        task.status = task.lifecycle.failure if failure else task.lifecycle.success
        task.error = failure
        if task.on_finish is not None:
            task.on_finish(task)


def _retrieve_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
