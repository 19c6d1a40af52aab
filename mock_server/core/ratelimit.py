"""Sliding-window request limits per key, on the mock clock.

With a virtual clock the window moves only when the clock does, so a limit test is exact:
N requests pass, the next is refused, ``clock/advance`` by the window lets requests in again.
"""

from __future__ import annotations

from collections import deque

from mock_server.core.clock import Clock


class RateLimiter:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: int, window: float = 1.0) -> bool:
        """Count a request for ``key``; False (and not counted) when ``limit`` is reached."""
        now = self.clock.now()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True
