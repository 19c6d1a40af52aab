"""The task store: states worked out from the mock clock, ends scheduled, history bounded.

Each provider describes its states as data (:class:`Lifecycle`); each task gets a
:class:`TaskPlan` at submit time. A task's state is worked out when somebody reads it (lazy
advance, exact under a virtual clock or ``polls=N``), and a task whose end is fixed in time is
also put on the :class:`Timeline`, so it finishes, and tells its listeners, when its time comes
whether or not anyone reads it (the scheduler runs the timeline).

Cost per request does not grow with history: unfinished tasks are indexed per owner (admission
and credit reads look only at those), ends and expiries sit in one heap, and a finished task is
dropped ``Lifecycle.retention`` seconds after it ended (fixtures are kept for ever).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

from bgmock.server.core.clock import Clock
from bgmock.server.core.loops import call_in_loop
from bgmock.server.core.plan import Lifecycle, TaskPlan
from bgmock.server.core.timeline import Timeline, deadline

__all__ = ["Lifecycle", "Listener", "Task", "TaskEngine", "TaskPlan", "Work"]

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[Any]]


@dataclass(slots=True)
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
    listeners: list[Listener] = field(default_factory=list, repr=False)
    due_at: float | None = None       # when a time-based plan makes it terminal
    expires_at: float | None = None   # when it is dropped (None: kept)

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
            "plan": {k: v for k, v in asdict(self.plan).items()
                     if v not in (None, False) and k != "stuck"},
            "cost": self.cost,
            "error": self.error,
            "payload": self.payload,
        }


Listener = Callable[[Task], None]


class TaskEngine:
    def __init__(self, clock: Clock, instant: bool = False,
                 timeline: Timeline | None = None) -> None:
        self.clock = clock
        self.instant = instant
        self.timeline = timeline if timeline is not None else Timeline()
        self.tasks: dict[str, Task] = {}
        self.listeners: list[Listener] = []  # told of every task's end, after its own
        self.closed = False
        self._open: dict[tuple[str, str], dict[str, Task]] = {}
        # Per owner, the open tasks' ends in time order, so that admission looks only at the
        # tasks whose time is up, not at every open one (D165).
        self._ends: dict[tuple[str, str], list[tuple[float, int, str]]] = {}
        self._ripe: dict[tuple[str, str], dict[str, Task]] = {}  # time up, work still running
        self._seq = itertools.count()

    def create(self, *, id: str, provider: str, operation: str, owner: str,
               lifecycle: Lifecycle, plan: TaskPlan, payload: dict[str, Any],
               work: Work | None = None, cost: float = 0.0,
               on_finish: Listener | None = None, listeners: Iterable[Listener] = ()) -> Task:
        plan = _resolved(plan, lifecycle, self.instant)
        task = Task(id=id, provider=provider, operation=operation, owner=owner,
                    lifecycle=lifecycle, plan=plan, created_at=self.clock.now(),
                    payload=payload, cost=cost, status=lifecycle.pending[0],
                    listeners=[*([on_finish] if on_finish else []), *listeners])
        if work is not None:
            task.work = asyncio.ensure_future(work())
            task.work.add_done_callback(_retrieve_exception)
        self.tasks[id] = task
        self._open.setdefault((provider, owner), {})[id] = task
        task.due_at = self._due_at(task)
        if task.due_at is not None:
            self.timeline.at(task.due_at, self._due, task)
            heapq.heappush(self._ends.setdefault((provider, owner), []),
                           (task.due_at, next(self._seq), task.id))
        return task

    def add_finished(self, task: Task) -> Task:
        """Register a task that is already terminal and kept for ever (fixtures)."""
        task.expires_at = None
        self.tasks[task.id] = task
        return task

    def get(self, task_id: str) -> Task | None:
        """The task, or None when unknown or expired."""
        task = self.tasks.get(task_id)
        if task is not None and self._expired(task):
            self._expire(task)
            return None
        return task

    def select(self, provider: str | None = None, owner: str | None = None) -> list[Task]:
        """Every stored task (admin listings: the only full scan)."""
        return [t for t in self.tasks.values()
                if (provider is None or t.provider == provider)
                and (owner is None or t.owner == owner) and not self._expired(t)]

    def open_tasks(self, provider: str | None = None, owner: str | None = None) -> list[Task]:
        """Unfinished tasks (of ``owner`` under ``provider``: an index lookup)."""
        if provider is not None and owner is not None:
            return list(self._open.get((provider, owner), {}).values())
        return [t for (p, _), bucket in list(self._open.items()) if provider in (None, p)
                for t in list(bucket.values()) if owner in (None, t.owner)]

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
        is up and whose work is done is finished on the spot; one whose work still runs counts.
        Only tasks whose time is up are looked at: the cost does not grow with open tasks."""
        for task in self._ripened(provider, owner):
            if task.plan.fail or task.work is None or task.work.done():
                self._conclude(task)
        return len(self._open.get((provider, owner), ()))

    async def catch_up(self, provider: str | None = None, owner: str | None = None) -> int:
        """Bring unfinished tasks up to now (their listeners settle credits); returns how many
        are still unfinished. Looks only at the tasks whose time is up, never at history."""
        if provider is None or owner is None:
            keys = [key for key in list(self._open) if provider in (None, key[0])
                    and owner in (None, key[1])]
        else:
            keys = [(provider, owner)]
        pending = 0
        for key in keys:
            for task in self._ripened(*key):
                await self.observe(task)
            pending += len(self._open.get(key, ()))
        return pending

    def _ripened(self, provider: str, owner: str) -> list[Task]:
        """``owner``'s open tasks whose time is up: those found before whose work still runs,
        and those whose end time has passed since."""
        key = (provider, owner)
        ripe = self._ripe.get(key)
        ends = self._ends.get(key)
        if ends:
            now, bucket = self.clock.now(), self._open.get(key, {})
            while ends and ends[0][0] <= now:
                task = bucket.get(heapq.heappop(ends)[2])
                if task is not None:
                    ripe = self._ripe.setdefault(key, {})
                    ripe[task.id] = task
            if not ends:
                del self._ends[key]
        return list(ripe.values()) if ripe else []

    def close(self) -> None:
        """Fence this store off (a reset): work in flight is cancelled, and no task of it
        finishes or tells a listener any more."""
        self.closed = True
        for task in self.open_tasks():
            if task.work is not None and not task.work.done():
                _cancel(task.work)
        self._open.clear()
        self._ends.clear()
        self._ripe.clear()

    # --- internals ---------------------------------------------------------------------------

    def _path(self, task: Task) -> list[tuple[str, float]]:
        """The pending states this task passes through, with their durations; a ``duration``
        plan spreads its total evenly over the states actually travelled."""
        return self._path_of(task.plan, task.lifecycle)

    @staticmethod
    def _path_of(plan: TaskPlan, lc: Lifecycle) -> list[tuple[str, float]]:
        states = list(lc.pending)
        if plan.fail and plan.fail_at is not None:
            states = states[: lc.pending.index(plan.fail_at) + 1]
        if plan.duration is not None:
            return [(state, plan.duration / len(states)) for state in states]
        return list(zip(states, lc.durations, strict=False))

    def _stuck_state(self, task: Task, path: list[tuple[str, float]]) -> str | None:
        stuck = task.plan.stuck_at
        return stuck if stuck is not None and any(s == stuck for s, _ in path) else None

    def _due_at(self, task: Task) -> float | None:
        """When a time-based plan makes the task terminal (None: polls, or stuck)."""
        if task.plan.polls is not None:
            return None
        total = _planned_seconds(task.plan, task.lifecycle)
        return None if total is None else task.created_at + self.clock.scaled(total)

    def _planned_state(self, task: Task) -> str | None:
        """The pending state the task is in, or None once it is due to be terminal."""
        path = self._path(task)
        states = [state for state, _ in path]
        stuck = self._stuck_state(task, path)
        if task.plan.polls is not None:
            index = min(max(task.polls - 1, 0), len(path) - 1)
            if stuck is not None:
                return states[min(index, states.index(stuck))]
            return None if task.polls >= task.plan.polls else states[index]
        now = self.clock.now()
        if task.due_at is not None and now >= task.due_at:
            return None
        elapsed = now - task.created_at
        for state, seconds in path:
            if state == stuck:
                return state
            elapsed -= self.clock.scaled(seconds)
            if elapsed < 0:
                return state
        return states[-1]  # rounding: not yet due, so still in the last state

    def _due(self, task: Task) -> asyncio.Future[Any] | None:
        """A timeline action: the task's time is up. Returns its work if that still runs (the
        task ends as soon as the work does)."""
        if task.finished or self.closed:
            return None
        work = task.work
        if work is None or work.done() or task.plan.fail:
            self._conclude(task)
            return None
        work.add_done_callback(lambda _: self._conclude(task))
        return work

    async def _finish(self, task: Task) -> None:
        work = task.work
        if work is not None and not task.plan.fail:
            try:  # _conclude reads the outcome from the future
                await asyncio.shield(work)
            except asyncio.CancelledError:
                if not work.cancelled():  # the reader itself is cancelled, not the work
                    raise
            except Exception:
                log.debug("task %s work failed", task.id)
        self._conclude(task)

    def _conclude(self, task: Task) -> None:
        """Make the task terminal (its work, if any, is done or not wanted) and tell its
        listeners."""
        if task.finished or self.closed:  # another reader finished it, or a reset fenced it
            return
        failure = task.plan.fail_message if task.plan.fail else None
        if task.plan.fail and failure is None:
            failure = task.lifecycle.failure_message
        work = task.work
        if work is not None and not task.plan.fail:
            if not work.done() or work.cancelled():
                failure = task.lifecycle.failure_message
            elif (exc := work.exception()) is not None:  # the task fails, not its reader
                log.info("task %s work failed: %s", task.id, exc)
                failure = str(exc) or task.lifecycle.failure_message
            else:
                task.result = work.result()
        task.work = None  # the future and what it holds are not needed any more
        task.finished_at = self.clock.now()
        task.status = task.lifecycle.failure if failure else task.lifecycle.success
        task.error = failure
        key = (task.provider, task.owner)
        for index in (self._open, self._ripe):
            bucket = index.get(key)
            if bucket is not None:
                bucket.pop(task.id, None)
                if not bucket:
                    del index[key]
        if key not in self._open:
            self._ends.pop(key, None)  # nothing open: no end left to wait for
        if task.lifecycle.retention is not None:
            task.expires_at = deadline(task.finished_at, task.lifecycle.retention)
            self.timeline.at(task.expires_at, self._expire, task)
        for listener in (*task.listeners, *self.listeners):
            try:
                listener(task)
            except Exception:  # one listener's bug must not stop the others or the reader
                log.exception("listener of task %s failed", task.id)

    def _expired(self, task: Task) -> bool:
        return task.expires_at is not None and self.clock.now() >= task.expires_at

    def _expire(self, task: Task) -> None:
        if self.tasks.get(task.id) is task:
            del self.tasks[task.id]


@lru_cache(maxsize=256)
def _planned_seconds(plan: TaskPlan, lifecycle: Lifecycle) -> float | None:
    """A time-based plan's total duration on the provider's clock (None: polls, or stuck):
    the same for nearly every task, so worked out once."""
    if plan.polls is not None:
        return None
    path = TaskEngine._path_of(plan, lifecycle)
    stuck = plan.stuck_at
    if stuck is not None and any(s == stuck for s, _ in path):
        return None
    return sum(seconds for _, seconds in path)


@lru_cache(maxsize=256)
def _resolved(plan: TaskPlan, lifecycle: Lifecycle, instant: bool) -> TaskPlan:
    """One shared, immutable plan per (plan, lifecycle, mode): most tasks have the same one,
    so a task does not carry its own copy."""
    resolved = plan.resolved(lifecycle)
    if instant and resolved.polls is None and resolved.duration is None:
        resolved = replace(resolved, polls=1)
    return resolved


def _retrieve_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _cancel(future: asyncio.Future[Any]) -> None:
    """Cancel ``future`` from whichever thread (its loop may be another test client's)."""
    call_in_loop(future.get_loop(), future.cancel)
