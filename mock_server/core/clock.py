"""One clock for the whole mock.

``real``: wall time plus any offset added by ``advance``. ``virtual``: frozen at its start and
moved only by ``advance``. Task durations are divided by ``speed`` (so ``--speed 10`` makes tasks
finish ten times sooner) while the clock itself stays on wall time, which keeps signed
timestamps and URL expiry meaningful to clients that read the real time.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Literal

# Seconds one advance may move the clock: 100 years of 365 days, enough to pass the longest
# lifetime the mock hands out (Aidge result URLs, 10**9 s) in one call.
MAX_ADVANCE = 100 * 365 * 86400
# The clock never passes this (9000-01-01Z): every date the mock writes, plus the longest
# lifetime it hands out, stays below year 10000, the most ``datetime`` can represent.
LATEST = datetime(9000, 1, 1, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, mode: Literal["real", "virtual"] = "real", speed: float = 1.0,
                 start: float | None = None) -> None:
        self.mode = mode
        self.speed = speed
        self._start = time.time() if start is None else start
        self._offset = 0.0

    def now(self) -> float:
        """Current mock time, epoch seconds."""
        base = self._start if self.mode == "virtual" else time.time()
        return base + self._offset

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (finite, 0..MAX_ADVANCE); ``ValueError`` (and no move)
        for anything else, or when the clock would pass :data:`LATEST`."""
        self.target(seconds)
        self._offset += float(seconds)
        return self.now()

    def target(self, seconds: float) -> float:
        """Where ``advance(seconds)`` would take the clock; ``ValueError`` as ``advance``."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("seconds must be a number")
        if not math.isfinite(seconds) or not 0 <= seconds <= MAX_ADVANCE:
            raise ValueError(f"seconds must be between 0 and {MAX_ADVANCE} (100 years)")
        if self.now() + seconds >= LATEST:
            raise ValueError("the clock cannot move past 9000-01-01T00:00:00Z")
        return self.now() + float(seconds)

    @property
    def offset(self) -> float:
        return self._offset

    def move_to(self, when: float) -> None:
        """Forward to ``when`` (a step of a checked advance; never backwards)."""
        if when > self.now():
            self._offset += when - self.now()

    def move_offset(self, offset: float) -> None:
        """Forward to exactly ``offset`` (the end of a checked advance; never backwards)."""
        self._offset = max(self._offset, offset)

    def scaled(self, seconds: float) -> float:
        """A provider duration on this clock (divided by the speed factor)."""
        return seconds / self.speed

    def snapshot(self) -> dict[str, object]:
        now = self.now()
        return {
            "mode": self.mode,
            "now": now,
            "iso": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
            "offset": self._offset,
            "speed": self.speed,
        }
