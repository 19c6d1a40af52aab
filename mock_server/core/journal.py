"""A bounded journal of the requests the mock answered."""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(1, size))
        self._seq = itertools.count(1)

    def record(self, **entry: Any) -> None:
        self._entries.append({"seq": next(self._seq), **entry})

    def entries(self, provider: str | None = None, operation: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """Newest last; ``limit`` keeps the newest ``limit`` entries."""
        found = [e for e in self._entries
                 if (provider is None or e.get("provider") == provider)
                 and (operation is None or e.get("operation") == operation)]
        return found[-limit:] if limit else found

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
