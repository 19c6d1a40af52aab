"""One clock for the whole mock.

``real``: wall time plus any offset added by ``advance``. ``virtual``: frozen at its start and
moved only by ``advance``. Task durations are divided by ``speed`` (so ``--speed 10`` makes tasks
finish ten times sooner) while the clock itself stays on wall time, which keeps signed
timestamps and URL expiry meaningful to clients that read the real time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Literal


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
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self.now()

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
