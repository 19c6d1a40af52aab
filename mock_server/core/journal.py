"""A bounded journal of the requests the mock answered.

Entries are kept as tuples and turned into dicts only when read: recording sits on every
request's path, reading is rare.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

FIELDS = ("seq", "time", "provider", "operation", "method", "path", "query", "key", "status",
          "code", "fault", "durationMs")


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[tuple[Any, ...]] = deque(maxlen=max(1, size))
        self._seq = itertools.count(1)

    def record(self, time: float, provider: str, operation: str, method: str, path: str,
               query: str, key: str | None, status: int, code: str, fault: str,
               duration_ms: float, detail: dict[str, Any] | None = None) -> None:
        self._entries.append((next(self._seq), time, provider, operation, method, path, query,
                              key, status, code, fault, duration_ms, detail))

    def entries(self, provider: str | None = None, operation: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """Newest last; ``limit`` keeps the newest ``limit`` entries."""
        found = [entry for entry in self._entries
                 if (provider is None or entry[2] == provider)
                 and (operation is None or entry[3] == operation)]
        if limit:
            found = found[-limit:]
        return [{**dict(zip(FIELDS, entry, strict=False)), **(entry[-1] or {})}
                for entry in found]

    def clear(self) -> None:
        self._entries.clear()
