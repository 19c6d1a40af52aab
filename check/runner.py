"""Runs checks against one target: a fresh mock state per check (reset), target-dependent
skips made explicit, the live budget reserved before a check runs, every exchange handed to
the sinks (drift, recorder) and each outcome as a :class:`~bgmock.check.model.Result`."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bgmock.check.context import Context
from bgmock.check.model import Check, CheckFailed, Result, Skipped
from bgmock.check.observe import Exchange, Sink
from bgmock.check.targets import Target

CHECK_TIMEOUT = 300.0  # seconds one check may take (live polling included)


@dataclass
class Run:
    """A finished run: one result per check, in order, and the target it ran on."""

    target: str
    results: list[Result] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


def select(checks: Iterable[Check], keyword: str | None = None) -> list[Check]:
    """The checks whose name contains ``keyword`` (all without one)."""
    return [c for c in checks if not keyword or keyword in c.name]


async def run_one(check: Check, target: Target, sinks: Sequence[Sink] = (),
                  timeout: float = CHECK_TIMEOUT) -> Result:
    """One check, start to finish; never raises for what the check does."""
    import asyncio

    started = time.perf_counter()
    seen: list[Exchange] = []

    def result(status: str, reason: str = "", diff: str = "", paid: int = 0) -> Result:
        return Result(check, status, reason, diff,  # type: ignore[arg-type]
                      calls=len(seen), seconds=time.perf_counter() - started, paid=paid)

    if check.mock_only and not target.is_mock:
        return result("skip", "mock only: needs the admin API (faults, clock, accounts)")
    try:  # no keys for the provider: say so, rather than the budget
        target.credentials(check.provider)
    except Skipped as skip:
        return result("skip", str(skip))
    if target.budget is not None and target.spent + check.cost > target.budget:
        return result("skip", "live budget spent")
    for sink in sinks:  # a sink that wants to know which check an exchange belongs to
        begin = getattr(sink, "begin", None)
        if begin is not None:
            begin(check.name)
    ctx = Context(target, check.provider, [seen.append, *sinks])
    try:
        if target.admin is not None:
            await target.admin.reset()
        async with ctx:
            await asyncio.wait_for(check.run(ctx), timeout)
    except Skipped as skip:
        return result("skip", str(skip), paid=ctx.paid)
    except CheckFailed as failed:
        return result("fail", failed.message, failed.diff, paid=ctx.paid)
    except TimeoutError:
        return result("fail", f"timed out after {timeout:g}s", paid=ctx.paid)
    except Exception as exc:  # a check that crashes fails, with where
        tail = "".join(traceback.format_exception(exc)[-3:])
        return result("fail", f"{type(exc).__name__}: {exc}", tail, paid=ctx.paid)
    return result("pass", paid=ctx.paid)


async def run_checks(checks: Iterable[Check], target: Target, sinks: Sequence[Sink] = (),
                     on_result: Callable[[Result], None] | None = None) -> Run:
    """Every check in order on ``target`` (started here, closed after)."""
    run = Run(target.describe())
    await target.start()
    try:
        for check in checks:
            outcome = await run_one(check, target, sinks)
            run.results.append(outcome)
            if on_result is not None:
                on_result(outcome)
    finally:
        await target.close()
    return run
