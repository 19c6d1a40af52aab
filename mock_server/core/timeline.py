"""Deadlines on the mock clock, earliest first: when tasks end and when records expire.

One heap for the whole mock, so the scheduler sleeps until the earliest deadline and a clock
advance runs what falls due in time order. Each push and pop costs O(log n); nothing ever
scans every stored record.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

DAY = 86400.0


@dataclass(frozen=True)
class Retention:
    """How long a record is kept. ``midnight``: as an S3 lifecycle rule does, the end is
    rounded up to the next 00:00 UTC (an object made at 10:30 with 3 days goes at 00:00 on the
    fourth day), so a record lives at least ``seconds`` and less than a day more."""

    seconds: float
    midnight: bool = False

    def until(self, start: float) -> float:
        end = start + self.seconds
        return (math.floor(end / DAY) + 1) * DAY if self.midnight else end


def deadline(start: float, keep: float | Retention) -> float:
    """When a record made at ``start`` and kept ``keep`` (seconds or a rule) goes."""
    return keep.until(start) if isinstance(keep, Retention) else start + keep

NOTHING: Any = object()  # no subject: the action takes no argument

# An action runs once its time has come. It may hand back a future that is still running (a
# task's image work): the task ends when that future does, and a clock advance waits for it.
Action = Callable[[], "asyncio.Future[Any] | None"]


class Timeline:
    """Entries are ``(when, seq, action, subject)``: ``action(subject)`` runs (``action()``
    without a subject), so a record costs one small tuple, not a closure."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[..., Any], Any]] = []
        self._seq = itertools.count()
        self.on_change: Callable[[], None] | None = None  # the scheduler re-arms its timer

    def at(self, when: float, action: Callable[..., Any], subject: Any = NOTHING) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), action, subject))
        if self.on_change is not None and self._heap[0][0] == when:
            self.on_change()

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Action | None:
        """The earliest action due at ``now``, taken off the timeline; None if none is."""
        if self._heap and self._heap[0][0] <= now:
            _, _, action, subject = heapq.heappop(self._heap)
            return action if subject is NOTHING else partial(action, subject)
        return None

    def __len__(self) -> int:
        return len(self._heap)

    def clear(self) -> None:
        self._heap.clear()
