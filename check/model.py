"""The records of the suite: a named check, its outcome, and the two ways it can end early."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bgmock.check.context import Context

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One named check: ``name`` (``"topview.removebg.happy"``), the ``provider`` and the
    contract ``operation`` it exercises, ``cost`` (paid calls it makes on the live API),
    ``mock_only`` (needs the admin API: faults, clock, accounts) and ``run``."""

    name: str
    provider: str
    operation: str
    run: Callable[[Context], Awaitable[None]]
    cost: int = 0
    mock_only: bool = False
    doc: str = ""


class CheckFailed(AssertionError):
    """The target answered wrongly; ``diff`` says how (expected against actual)."""

    def __init__(self, message: str, diff: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.diff = diff


class Skipped(Exception):
    """The check cannot run on this target; the message says why."""


@dataclass
class Result:
    """What one check did: ``status``, ``reason`` (why it failed or was skipped), ``diff``,
    ``calls`` (HTTP exchanges it made), ``seconds`` (wall time) and ``paid`` (paid calls
    counted with ``ctx.spend``)."""

    check: Check
    status: Status
    reason: str = ""
    diff: str = ""
    calls: int = 0
    seconds: float = 0.0
    paid: int = 0

    @property
    def name(self) -> str:
        return self.check.name
