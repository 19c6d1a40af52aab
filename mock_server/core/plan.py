"""A task's states (:class:`Lifecycle`) and how one task travels through them (:class:`TaskPlan`).

``TaskPlan`` is the one record of the task directives: a fault (``core.faults.Fault``) is a
plan plus the directives that shape a request (error, latency, probability).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bgmock.server.core.timeline import Retention


@dataclass(frozen=True)
class Lifecycle:
    """A provider's task states as data. ``retention``: seconds a finished task stays
    queryable on the mock clock (None: for ever)."""

    pending: tuple[str, ...]
    durations: tuple[float, ...]
    success: str = "success"
    failure: str = "fail"
    failure_message: str = "task failed"
    retention: Retention | None = None

    def __post_init__(self) -> None:
        if len(self.pending) != len(self.durations) or not self.pending:
            raise ValueError("one duration per pending state, at least one state")

    @property
    def states(self) -> tuple[str, ...]:
        return (*self.pending, self.success, self.failure)


@dataclass(frozen=True)
class TaskPlan:
    """How one task progresses; fixed when it is accepted. ``stuck_at`` set means stuck there;
    ``stuck`` without a state, and ``fail`` without ``fail_at``, mean the last pending state."""

    polls: int | None = None
    duration: float | None = None
    fail: bool = False
    fail_message: str | None = None
    fail_at: str | None = None
    stuck: bool = False
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

    def task_plan(self) -> TaskPlan:
        """Only the task directives (a fault's request directives dropped)."""
        return TaskPlan(self.polls, self.duration, self.fail, self.fail_message, self.fail_at,
                        self.stuck, self.stuck_at)

    def resolved(self, lifecycle: Lifecycle) -> TaskPlan:
        """The plan with its defaults filled in for ``lifecycle``; ``ValueError`` if it does
        not fit it."""
        self.check(lifecycle)
        last = lifecycle.pending[-1]
        plan = self.task_plan()
        stuck_at = (plan.stuck_at or last) if plan.stuck or plan.stuck_at else None
        return replace(plan, fail_at=(plan.fail_at or last) if plan.fail else None,
                       stuck=stuck_at is not None, stuck_at=stuck_at)
