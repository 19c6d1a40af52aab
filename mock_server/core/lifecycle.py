"""Task operations every asynchronous provider shares: plan, admit, create, own, settle.

A provider supplies only its vocabulary (:class:`TaskKind`: its name, states and what each
refusal is in its own error codes); admission, plans from faults, credit settling and ownership
checks are the same for Topview today and PICPIK and Runware next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bgmock.server.core.accounts import Account, Accounts
from bgmock.server.core.endpoints import ControlError
from bgmock.server.core.engine import Engine
from bgmock.server.core.faults import Fault
from bgmock.server.core.plan import Lifecycle, TaskPlan
from bgmock.server.core.tasks import Listener, Task, Work

Refusal = Callable[[], Exception]


@dataclass(frozen=True)
class TaskKind:
    """One provider's task vocabulary: its states and its own answer for each refusal."""

    provider: str
    lifecycle: Lifecycle
    not_found: Refusal       # unknown id, another account's, another operation's, or expired
    too_many: Refusal        # the account's concurrency limit is reached
    no_credits: Refusal      # the account cannot cover the cost


def plan(fault: Fault, lifecycle: Lifecycle) -> TaskPlan:
    """The task plan a request's fault gives; a plan that does not fit the states is a mistake
    in the mock's controls (D2)."""
    try:
        return _plan(fault, lifecycle)
    except ValueError as exc:
        raise ControlError(f"X-Mock-Fault: {exc}") from exc


@lru_cache(maxsize=256)
def _plan(fault: Fault, lifecycle: Lifecycle) -> TaskPlan:
    """Plans are immutable and nearly every request has the same (no fault): work each out
    once. Bounded: a client can vary its ``X-Mock-Fault`` without end."""
    return fault.plan(lifecycle)


async def admit(engine: Engine, kind: TaskKind, account: Account, cost: float) -> None:
    """Concurrency limit, then credits; reserves the credits (D8, D31).

    Tasks that are due wait for their work first; after that nothing awaits, so the count and
    the task the caller creates next are one atomic step (no submit can slip in between and
    exceed the limit). Only the account's unfinished tasks are looked at, never history."""
    engine.scheduler.run_due()  # ends and expiries that fell due since the last tick
    await engine.tasks.catch_up(kind.provider, account.key)
    if engine.tasks.unfinished(kind.provider, account.key) >= account.concurrency:
        raise kind.too_many()
    if not engine.accounts.reserve(account, cost):
        raise kind.no_credits()


async def submit(engine: Engine, kind: TaskKind, *, account: Account, operation: str,
                 fault: Fault, payload: dict[str, Any], cost: float,
                 work: Work | None = None, id_namespace: str | None = None,
                 listeners: Iterable[Listener] = (), task_id: str | None = None) -> Task:
    """Admit and create a task whose credits settle when it ends. ``task_id``: the provider's
    own id for it (default: 32 hex drawn in ``id_namespace``)."""
    task_plan = plan(fault, kind.lifecycle)
    await admit(engine, kind, account, cost)
    return engine.tasks.create(
        id=task_id or engine.ids.hex(id_namespace or f"{kind.provider}.task"),
        provider=kind.provider,
        operation=operation, owner=account.key, lifecycle=kind.lifecycle, plan=task_plan,
        payload=payload, work=work, cost=cost,
        listeners=(settle_credits(engine), *listeners))


def settle_credits(engine: Engine) -> Listener:
    """A listener releasing a task's reservation, charging it only on success (D8, T10).
    It holds the accounts of the engine state it was made in, so a task from before a reset
    can never charge a fresh account; one listener per state, shared by its tasks."""
    return _settler(engine.accounts)


@lru_cache(maxsize=8)
def _settler(accounts: Accounts) -> Listener:
    def settle(task: Task) -> None:
        account = accounts.get(task.provider, task.owner)
        if account is not None:
            accounts.settle(account, task.cost, charge=task.succeeded)

    return settle


def owned(engine: Engine, kind: TaskKind, task_id: Any, owner: str, operation: str) -> Task:
    """The caller's task of ``operation``, or the provider's not-found refusal (D7)."""
    task = engine.tasks.get(task_id) if isinstance(task_id, str) else None
    if (task is None or task.provider != kind.provider or task.operation != operation
            or task.owner != owner):
        raise kind.not_found()
    return task
