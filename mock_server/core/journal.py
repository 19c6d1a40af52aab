"""A bounded journal of the requests the mock answered.

Entries are kept as tuples and turned into dicts only when read: recording sits on every
request's path, reading is rare. Every entry is bounded whatever the client sent: each text
field is cut at :data:`FIELD_MAX` characters and the extras at :data:`DETAIL_MAX` in all, and a
cut entry says ``"truncated": true`` (a 40 MB wrong-typed field must not be kept per request).
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

FIELDS = ("seq", "time", "provider", "operation", "method", "path", "query", "key", "status",
          "code", "fault", "durationMs")
FIELD_MAX = 1024        # characters per text field
DETAIL_MAX = 4096       # characters for all extras of one entry together
DETAIL_KEYS_MAX = 16


def clip(text: str, limit: int = FIELD_MAX) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters with a marker saying how much was left out."""
    if len(text) <= limit:
        return text, False
    return f"{text[:limit]}... [{len(text) - limit} more characters]", True


def _bounded_detail(detail: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    kept: dict[str, Any] = {}
    budget, cut = DETAIL_MAX, False
    for index, (name, value) in enumerate(detail.items()):
        if index >= DETAIL_KEYS_MAX or budget <= 0 or name in FIELDS:
            cut = cut or name not in FIELDS  # core fields are never overwritten by extras
            continue
        if not isinstance(value, (bool, int, float, type(None))):
            value, clipped = clip(str(value), min(FIELD_MAX, budget))
            cut = cut or clipped
            budget -= len(value)
        kept[str(name)[:64]] = value
    return kept, cut


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[tuple[Any, ...]] = deque(maxlen=max(1, size))
        self._seq = itertools.count(1)

    def record(self, time: float, provider: str, operation: str, method: str, path: str,
               query: str, key: str | None, status: int, code: str, fault: str,
               duration_ms: float, detail: dict[str, Any] | None = None) -> None:
        truncated = False
        if len(path) > FIELD_MAX or len(query) > FIELD_MAX or len(fault) > FIELD_MAX \
                or (key is not None and len(key) > FIELD_MAX):
            path, cut_path = clip(path)
            query, cut_query = clip(query)
            fault, cut_fault = clip(fault)
            cut_key = False
            if key is not None:
                key, cut_key = clip(key)
            truncated = cut_path or cut_query or cut_fault or cut_key
        if detail:
            detail, cut_detail = _bounded_detail(detail)
            truncated = truncated or cut_detail
        if truncated:
            detail = {**(detail or {}), "truncated": True}
        self._entries.append((next(self._seq), time, provider, operation, method, path, query,
                              key, status, code, fault, duration_ms, detail or None))

    def entries(self, provider: str | None = None, operation: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """Newest last; ``limit`` keeps the newest ``limit`` entries."""
        found = [entry for entry in self._entries
                 if (provider is None or entry[2] == provider)
                 and (operation is None or entry[3] == operation)]
        if limit:
            found = found[-limit:]
        return [{**(entry[-1] or {}), **dict(zip(FIELDS, entry, strict=False))}
                for entry in found]

    def clear(self) -> None:
        self._entries.clear()
