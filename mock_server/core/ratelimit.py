"""Sliding-window request limits per key, on the mock clock.

With a virtual clock the window moves only when the clock does, so a limit test is exact:
N requests pass, the next is refused, ``clock/advance`` by the window lets requests in again.
A limit of ``None`` is off: providers leave their default limits off on the virtual clock, so
a test meets one only when it set it (D64).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from bgmock.server.core.clock import Clock


class RateLimiter:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: Any, window: float = 1.0) -> bool:
        """Count a request for ``key``; False (and not counted) when ``limit`` is reached.
        ``limit`` None: no limit, nothing counted; anything not a whole number >= 0 (a limit
        set loosely through the admin API) counts as no request allowed."""
        if limit is None:
            return True
        if type(limit) is not int or limit < 0:
            limit = _whole(limit)
        now = self.clock.now()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True


def _whole(limit: Any) -> int:
    try:
        return max(0, int(limit))
    except (TypeError, ValueError, OverflowError):
        return 0
