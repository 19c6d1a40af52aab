"""What the four providers' checks share on a mock: fault rules that leave no trace, a check
account of their own, the webhook journal, and a few facts about images.

A check that changes a mock leaves it as it found it, also where nothing resets the mock
after it (a check run by other code; the runner resets before each check, D230): a fault rule
is scoped to one operation, fires once (``count=1``) and is deleted afterwards whether it fired
or not; limits are changed only on the check's own account (:data:`CHECK_KEY`), never on the
docs' demo account; and a task left ``stuck`` on purpose belongs to that account, so it never
holds a slot of the demo account's unfinished-task limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bgmock.check import registry
from bgmock.check.admin import AdminError
from bgmock.check.context import Context, diff
from bgmock.check.model import CheckFailed, Skipped
from bgmock.client._common import PollTimeout, ProviderError

CHECK_KEY = "bgmock-check"           # the checks' own account on a mock (D230)
CHECK_SECRET = "bgmock-check-secret"
# A callback URL nothing listens on: every attempt fails at once, so retries show (D231).
DEAD_RECEIVER = "http://127.0.0.1:9/bgmock-check-hook"
JOURNAL_WAIT = 5.0  # real seconds a real-clock mock gets to journal the attempts it owes


Fn = Callable[[Context], Awaitable[None]]


def check(provider: str, operation: str, *, name: str, cost: int = 0,
          mock_only: bool = False) -> Callable[[Fn], Fn]:
    """:func:`bgmock.check.registry.check`, and a provider error or a wait that runs out of
    time that the check did not expect (``ctx.expect_error`` takes those it does) fails it
    with a diff of what came back instead of a traceback (D233)."""

    def declare(fn: Fn) -> Fn:
        @functools.wraps(fn)
        async def run(ctx: Context) -> None:
            try:
                await fn(ctx)
            except ProviderError as exc:
                got = {"error": type(exc).__name__, "code": exc.code, "message": exc.message,
                       "status": exc.status}
                raise CheckFailed(f"unexpected {exc}", diff({"error": None}, got)) from exc
            except PollTimeout as exc:
                raise CheckFailed(f"the task did not finish: {exc}",
                                  diff({"last": "a terminal state"},
                                       {"last": repr(exc.last), "elapsed": exc.elapsed})
                                  ) from exc

        registry.check(provider, operation, name=name, cost=cost, mock_only=mock_only)(run)
        return run

    return declare


@contextlib.asynccontextmanager
async def fault_rule(ctx: Context, fault: str, operation: str, *, key: str | None = None,
                     count: int = 1, match: dict[str, str] | None = None
                     ) -> AsyncIterator[dict[str, Any]]:
    """An admin fault rule for the check's provider, deleted on the way out (used up or not)."""
    rule = await ctx.admin.fault(ctx.provider, fault, operation, key=key, count=count,
                                 match=match)
    try:
        yield rule
    finally:
        with contextlib.suppress(AdminError):  # a used-up rule may be gone already
            await ctx.admin.call("DELETE", f"/faults/{rule['id']}")


async def check_account(ctx: Context, **changes: Any) -> None:
    """Create (or reset) the check's own account on the mock with ``changes`` (credits,
    concurrency, extra)."""
    await ctx.admin.set_account(ctx.provider, CHECK_KEY, secret=CHECK_SECRET, **changes)


async def webhook_attempts(ctx: Context, task_id: str, at_least: int = 1,
                           wait: float = JOURNAL_WAIT) -> list[dict[str, Any]]:
    """Every callback attempt the mock journaled for ``task_id``, oldest first, once there are
    ``at_least`` (or ``wait`` real seconds have passed). On a virtual clock the first read has
    them (an advance answers after the attempts it caused); a real-clock mock sends them from
    its timers just after the advance, so the journal is read again for a moment (D231)."""
    deadline = time.monotonic() + wait
    while True:
        attempts = list(await ctx.admin.call("GET", "/webhooks",
                                             params={"provider": ctx.provider,
                                                     "task": task_id}))
        if len(attempts) >= at_least or time.monotonic() >= deadline:
            return attempts
        await asyncio.sleep(0.05)


async def expect_retried(ctx: Context, task_id: str) -> None:
    """The finished task's callback was attempted, failed (the ``webhook=fail`` fault; then a
    receiver that is not there) and was attempted again later on the mock clock."""
    first = await webhook_attempts(ctx, task_id)
    if any(a.get("outcome") == "refused" for a in first):
        raise Skipped("the target's webhook_allowlist refuses 127.0.0.1")
    ctx.expect([(a.get("attempt"), a.get("outcome")) for a in first], [(1, "failed")],
               "callback attempts once the task ended")
    ctx.expect_true(first[0].get("fault"), "the first attempt names the webhook fault",
                    first[0])
    await ctx.sleep(130)  # past every default retry (5, 30, 120 s); a second attempt at least
    later = await webhook_attempts(ctx, task_id, at_least=2)
    attempts = [a.get("attempt") for a in later]
    ctx.expect_true(len(later) >= 2 and attempts[:2] == [1, 2],
                    "the failed callback is retried (attempt 2 after attempt 1)", later)
    ctx.expect_true(float(later[1]["scheduledAt"]) > float(later[0]["scheduledAt"]),
                    "the retry is scheduled after the first attempt", later[:2])
    ctx.expect([a.get("outcome") for a in later], ["failed"] * len(later),
               "every attempt to a receiver that is not there failed")


def image_info(data: bytes) -> tuple[str, tuple[int, int], str]:
    """``(format, size, mode)`` of encoded image bytes; :class:`CheckFailed` when they are no
    image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            return str(img.format), img.size, img.mode
    except (UnidentifiedImageError, OSError) as exc:
        raise CheckFailed(f"not an image: {data[:16]!r} ({len(data)} bytes)") from exc


def has_transparency(data: bytes) -> bool:
    """Some pixel of the image is (partly) transparent."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        if "A" not in img.getbands():
            return False
        low, _high = img.getchannel("A").getextrema()
        return low < 255
