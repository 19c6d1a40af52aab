"""Runs the :class:`Timeline` on the mock clock, so tasks end and records expire unread.

Virtual clock: nothing moves until :meth:`Scheduler.advance`, which steps the clock from one
deadline to the next up to its target and returns when every consequence has run (a task's
image work awaited, its listeners told), in due-time order. Real clock: one ``call_later``
timer on the running event loop, armed for the earliest deadline (no busy loop); it is armed
lazily by the first deadline set inside a running loop and disarmed by :meth:`pause`
(shutdown) or :meth:`close` (reset).
Reading a task still works it out on the spot (lazy advance); the scheduler only makes sure
nothing waits for a reader.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bgmock.server.core.clock import Clock
from bgmock.server.core.loops import call_in_loop
from bgmock.server.core.timeline import Timeline

log = logging.getLogger(__name__)

MAX_SLEEP = 60.0  # wall seconds between timer checks at most (a wall-clock jump is noticed)


class Scheduler:
    def __init__(self, clock: Clock, timeline: Timeline) -> None:
        self.clock = clock
        self.timeline = timeline
        self.closed = False
        self.paused = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = float("inf")  # when the timer fires, in the loop's time
        timeline.on_change = self.wake

    def run_due(self) -> list[asyncio.Future[Any]]:
        """Run every action whose time has come, now, without awaiting; returns the work
        futures still running (their tasks end when those do)."""
        running: list[asyncio.Future[Any]] = []
        now = self.clock.now()
        while not self.closed and (action := self.timeline.pop_due(now)) is not None:
            future = self._run(action)
            if future is not None:
                running.append(future)
        return running

    async def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` on (``ValueError`` and no move, as ``Clock.advance``) and
        run what falls due by then, in due-time order, before returning the new time."""
        target = self.clock.target(seconds)
        if self.clock.mode == "virtual":
            start = self.clock.offset
            while (when := self.timeline.next_at()) is not None and when <= target:
                self.clock.move_to(when)
                await self._run_in_order()
            self.clock.move_offset(start + float(seconds))
        else:
            self.clock.advance(seconds)
        await self._run_in_order()
        self.wake()
        return self.clock.now()

    async def _run_in_order(self) -> None:
        now = self.clock.now()
        while not self.closed and (action := self.timeline.pop_due(now)) is not None:
            future = self._run(action)
            if future is not None:
                await asyncio.wait([future])
                self._run(action)  # the work is done: the task ends now (a no-op if it did)

    @staticmethod
    def _run(action: Any) -> asyncio.Future[Any] | None:
        try:
            future = action()
        except Exception:  # a broken action must not stop the clock
            log.exception("scheduled action failed")
            return None
        return future if future is not None and not future.done() else None

    # --- real clock: one timer ---------------------------------------------------------------

    def wake(self) -> None:
        """Arm the timer for the earliest deadline (real clock, inside a running loop)."""
        if self.clock.mode != "real" or self.closed or self.paused:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop here (start-up, a thread): armed by the next deadline in one
        when = self.timeline.next_at()
        if when is None:
            return
        delay = min(max(0.0, when - self.clock.now()), MAX_SLEEP)
        fires_at = loop.time() + delay
        if self._handle is not None:
            # Compared in the loop's (wall) time: an advance moves the mock clock on, so a
            # timer armed for a mock time would fire late by the advance (D168).
            if self._loop is loop and self._armed_for <= fires_at:
                return  # already armed early enough
            self._disarm()
        self._loop, self._armed_for = loop, fires_at
        self._handle = loop.call_later(delay, self._tick)

    def _tick(self) -> None:
        self._handle, self._armed_for = None, float("inf")
        self.run_due()
        self.wake()

    def _disarm(self) -> None:
        handle, loop = self._handle, self._loop
        self._handle, self._armed_for = None, float("inf")
        if handle is None or loop is None:
            return
        call_in_loop(loop, handle.cancel)

    def close(self) -> None:
        """Stop for good (a reset replaced this scheduler): nothing of it runs any more."""
        self.closed = True
        self._disarm()

    def pause(self) -> None:
        """Disarm the timer until :meth:`resume` (the app shuts down); advances still run."""
        self.paused = True
        self._disarm()

    def resume(self) -> None:
        self.paused = False
        self.wake()
