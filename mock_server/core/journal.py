"""A bounded journal of the requests the mock answered.

Entries are typed records (:class:`Entry`, slotted) turned into dicts only when read:
recording sits on every request's path, reading is rare. The core fields are attributes and the
extras a separate, bounded mapping, so no extra can stand in for a core field (D86).
Every entry is bounded whatever the client sent: each text
field is cut at :data:`FIELD_MAX` characters and the extras at :data:`DETAIL_MAX` in all, and a
cut entry says ``"truncated": true`` (a 40 MB wrong-typed field must not be kept per request).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
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


_FIELD_NAMES = frozenset(FIELDS)
_SCALARS = (bool, int, float, type(None))


def _bounded_detail(detail: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    if len(detail) <= 2:  # the usual extras (a task id, a problem): kept as they are if small
        for name, value in detail.items():
            if type(name) is not str or len(name) > 64 or name in _FIELD_NAMES or not (
                    type(value) in _SCALARS or (type(value) is str and len(value) <= FIELD_MAX)):
                break
        else:
            return detail, False
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


@dataclass(slots=True)
class Entry:
    """One answered request (one operation: a request naming several gives one entry each)."""

    seq: int
    time: float
    provider: str
    operation: str
    method: str
    path: str
    query: str
    key: str | None
    status: int
    code: str
    fault: str
    durationMs: float  # the name the admin API shows
    extras: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        core = {name: getattr(self, name) for name in FIELDS}
        return {**self.extras, **core} if self.extras else core


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[Entry] = deque(maxlen=max(1, size))
        self._seq = itertools.count(1)

    def record(self, time: float, provider: str, operation: str, method: str, path: str,
               query: str, key: str | None, status: int, code: str, fault: str,
               duration_ms: float, detail: dict[str, Any] | None = None) -> Entry:
        truncated = False
        if len(path) > FIELD_MAX or len(query) > FIELD_MAX or len(fault) > FIELD_MAX \
                or len(operation) > FIELD_MAX or (key is not None and len(key) > FIELD_MAX):
            path, cut_path = clip(path)
            query, cut_query = clip(query)
            fault, cut_fault = clip(fault)
            operation, cut_operation = clip(operation)
            cut_key = False
            if key is not None:
                key, cut_key = clip(key)
            truncated = cut_path or cut_query or cut_fault or cut_key or cut_operation
        if detail:
            detail, cut_detail = _bounded_detail(detail)
            truncated = truncated or cut_detail
        if truncated:
            detail = {**(detail or {}), "truncated": True}
        entry = Entry(next(self._seq), time, provider, operation, method, path, query, key,
                      status, code, fault, duration_ms, detail or None)
        self._entries.append(entry)
        return entry

    def entries(self, provider: str | None = None, operation: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """Newest last; ``limit`` keeps the newest ``limit`` entries."""
        found = [entry for entry in self._entries
                 if (provider is None or entry.provider == provider)
                 and (operation is None or entry.operation == operation)]
        if limit:
            found = found[-limit:]
        return [entry.as_dict() for entry in found]

    def clear(self) -> None:
        self._entries.clear()
