"""The recording format shared by ``bgmock check --record`` (writes) and ``bgmock serve
--replay`` (reads), and the per-provider rules as data (``contracts/<p>/replay.json``).

A recording is a folder: ``manifest.json``, ``exchanges/NNNNNN.json`` (one exchange each) and
``blobs/<sha256>`` (image bytes, each stored once by content hash). Inside an exchange, a
long base64 string or a binary body is a marker ``{"$blob": "<sha256>"}`` (plus ``"prefix"``
for a ``data:`` URL, ``"encoding": "base64"`` for text, ``"content_type"`` for a body).

Rules (D240-D243): ``redact_headers`` / ``redact_fields`` never reach the disk (their value
becomes ``"<redacted>"``); ``ignore`` (signatures, timestamps, nonces) and the redacted fields
are left out of a request's match key; ``ids`` (ids the provider hands out) and ``fresh``
(ids a client draws anew for each call) are the fields whose values the mock maps from the
recorded ones to its own. In a match key an id stands as the recorded id it was mapped from;
an unmapped ``fresh`` one matches any (:data:`WILDCARD`), an unmapped ``ids`` one only itself.
``outcome`` fields (codes, task states) tell answers apart: a recorded answer stands in for the
mock's own only when both carry the same values there, and the same ``present`` fields (a
finished task's result URL; not null) whatever their values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from bgmock import contracts

FORMAT = 1
BLOB = "$blob"
REDACTED = "<redacted>"
MIN_BLOB_CHARS = 256          # a shorter string stays inline
WILDCARD = "*"                # an id the replay has never handed out
# Headers no recording keeps, whatever the provider (the provider's own come on top).
ALWAYS_REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie",
                                     "set-cookie", "x-api-key", "api-key"})
_BASE64 = re.compile(r"[A-Za-z0-9+/=\r\n_-]+")
_DATA_URL = re.compile(r"data:[\w.+/-]{1,100}(;[\w=.-]{1,100})*;base64,")


class RecordingError(ValueError):
    """A recording folder or a rules file that cannot be used (one line: what and where)."""


@dataclass(frozen=True)
class Rules:
    """One provider's redaction and matching rules, as read from ``replay.json``."""

    redact_headers: frozenset[str] = frozenset()
    redact_fields: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    fresh: frozenset[str] = frozenset()
    outcome: frozenset[str] = frozenset()
    present: frozenset[str] = frozenset()

    @property
    def mapped(self) -> frozenset[str]:
        """Fields whose recorded values the replay maps to the mock's own."""
        return self.ids | self.fresh

    def headers_redacted(self) -> frozenset[str]:
        return ALWAYS_REDACTED_HEADERS | self.redact_headers

    def left_out(self) -> frozenset[str]:
        """Fields the match key leaves out: their values differ on every call or are gone."""
        return self.redact_fields | self.ignore


@cache
def rules(provider: str) -> Rules:
    """``provider``'s rules (no file: nothing beyond the generic header redaction)."""
    path = contracts.folder(provider) / "replay.json"
    if not path.is_file():
        return Rules()
    data = json.loads(path.read_text(encoding="utf-8"))

    def names(key: str, lower: bool = False) -> frozenset[str]:
        values = data.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RecordingError(f"{path}: {key}: expected a list of names")
        return frozenset(v.lower() if lower else v for v in values)

    return Rules(names("redact_headers", lower=True), names("redact_fields"),
                 names("ignore"), names("ids"), names("fresh"),
                 names("outcome"), names("present"))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def as_base64(text: str) -> tuple[str, bytes] | None:
    """``(prefix, bytes)`` when ``text`` is a long base64 string (optionally a ``data:`` URL),
    else None."""
    if len(text) < MIN_BLOB_CHARS:
        return None
    prefix = ""
    if text.startswith("data:"):
        found = _DATA_URL.match(text)
        if found is None:
            return None
        prefix = found.group(0)
    payload = text[len(prefix):]
    if not _BASE64.fullmatch(payload):
        return None
    try:
        altchars = b"-_" if ("-" in payload or "_" in payload) else None
        cleaned = payload.replace("\r", "").replace("\n", "")
        return prefix, base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), altchars,
                                        validate=True)
    except (binascii.Error, ValueError):
        return None


def blob_marker(sha: str, **extra: str) -> dict[str, str]:
    return {BLOB: sha, **extra}


def is_blob(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(BLOB), str)


def parse_body(content_type: str, data: bytes) -> Any:
    """A request body as a value: JSON, a form (a dict), nothing (None), or its bytes' hash."""
    if not data:
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            return dict(parse_qsl(data.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return blob_marker(digest(data))
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return blob_marker(digest(data))


def _key_value(value: Any, field: str | None, rules: Rules,
               known: Callable[[str], str | None], depth: int = 0) -> Any:
    if depth > 32:
        return WILDCARD
    if isinstance(value, dict):
        if is_blob(value):
            return f"blob:{value[BLOB]}"
        left_out = rules.left_out()
        return {k: _key_value(v, k, rules, known, depth + 1)
                for k, v in sorted(value.items()) if k not in left_out}
    if isinstance(value, list):
        return [_key_value(v, field, rules, known, depth + 1) for v in value[:1000]]
    if isinstance(value, str):
        found = as_base64(value)
        if found is not None:
            return f"blob:{digest(found[1])}"
        if field in rules.ids or field in rules.fresh:
            recorded = known(value)
            if recorded is not None:
                return recorded
            return WILDCARD if field in rules.fresh else value
    return value


def match_key(operations: Iterable[str], query: dict[str, str], body: Any, rules: Rules,
              known: Callable[[str], str | None]) -> str:
    """The text two requests share when the replay treats them as the same: the operations,
    the query and the body without the left-out fields, images by hash, and each id as the
    recorded id it stands for (``known``; :data:`WILDCARD` when it stands for none)."""
    shape = {"operations": list(operations),
             "query": _key_value(query, None, rules, known),
             "body": _key_value(body, None, rules, known)}
    return json.dumps(shape, sort_keys=True, separators=(",", ":"), default=str)


def outcome_of(value: Any, rules: Rules, limit: int = 100) -> list[Any]:
    """What tells an answer apart: the values of the ``outcome`` fields and the names of the
    ``present`` fields, anywhere in it, in document order."""
    found: list[Any] = []
    stack: list[tuple[Any, Any]] = [(None, value)]
    while stack and len(found) < limit:
        name, item = stack.pop()
        if name in rules.present:
            if item is not None:
                found.append(f"+{name}")
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((name, v) for v in reversed(item))
        elif name in rules.outcome:
            found.append(item)
    return found
