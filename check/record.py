"""``bgmock check --record DIR``: every exchange the observer sees, written for ``bgmock serve
--replay DIR`` (format: ``bgmock.contracts.recording``).

One JSON file per exchange under ``DIR/exchanges/``; secrets and signatures redacted (the
observer's generic rules, then the provider's ``contracts/<p>/replay.json``: headers, body and
query fields, signed-URL parameters); image bytes (long base64 strings, binary bodies,
downloads) stored once by content hash in ``DIR/blobs/``. Bounded: past ``max_exchanges``
exchanges or ``max_bytes`` written, further exchanges are counted, not written (D241).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bgmock.check.observe import Exchange
from bgmock.contracts.recording import (
    FORMAT,
    REDACTED,
    Rules,
    as_base64,
    blob_marker,
    digest,
    parse_body,
    rules,
)

from bgmock import contracts

MAX_EXCHANGES = 5000
MAX_BYTES = 512 * 1024 * 1024
# Query parameters of a URL (in an answer or a request) that sign it: never written.
_URL_SECRETS = re.compile(r"signature|credential|security-token|securitytoken|accesskeyid"
                          r"|key-pair-id|policy|^sign$|^token$|access_token|app_key|apikey",
                          re.IGNORECASE)
KEPT_RESPONSE_HEADERS = ("content-type",)


class RecordFull(Exception):
    """The record run reached its cap (the rest of the run is counted, not written)."""


@dataclass
class Totals:
    exchanges: int = 0
    dropped: int = 0
    blobs: int = 0
    blob_hits: int = 0      # a blob seen again: not written twice
    bytes: int = 0


class Recorder:
    """A sink for :class:`ObservingTransport`: ``recorder(exchange)`` writes one exchange."""

    def __init__(self, folder: str | Path, *, max_exchanges: int = MAX_EXCHANGES,
                 max_bytes: int = MAX_BYTES) -> None:
        self.root = Path(folder)
        self.max_exchanges, self.max_bytes = max_exchanges, max_bytes
        self.totals = Totals()
        self.error = ""  # the last write that failed (the exchange was dropped)
        (self.root / "exchanges").mkdir(parents=True, exist_ok=True)
        (self.root / "blobs").mkdir(exist_ok=True)
        self._known = {path.name for path in (self.root / "blobs").iterdir()}
        self._next = len(list((self.root / "exchanges").glob("*.json")))
        self.close()  # a manifest from the start: an interrupted run is still a recording

    def __call__(self, exchange: Exchange) -> None:
        if self.totals.exchanges >= self.max_exchanges or self.totals.bytes >= self.max_bytes:
            self.totals.dropped += 1
            return
        try:
            record = self._record(exchange)
            data = json.dumps(record, ensure_ascii=False, indent=1).encode()
            self._spend(len(data))
            self._next += 1
            (self.root / "exchanges" / f"{self._next:06d}.json").write_bytes(data)
        except (RecordFull, OSError) as exc:  # a full disk never fails the check it watches
            self.totals.dropped += 1
            if isinstance(exc, OSError):
                self.error = f"{exc.strerror or exc}"
            return
        self.totals.exchanges += 1

    def summary(self) -> str:
        t = self.totals
        dropped = f", {t.dropped} over the cap not written" if t.dropped else ""
        return (f"recorded {t.exchanges} exchanges, {t.blobs} images ({t.blob_hits} seen "
                f"again, stored once), {t.bytes} bytes in {self.root}{dropped}")

    def close(self) -> None:
        """Write the manifest (counts, and whether the cap cut the run short)."""
        manifest = {"format": FORMAT, "tool": "bgmock check --record",
                    "exchanges": self.totals.exchanges, "dropped": self.totals.dropped,
                    "blobs": self.totals.blobs, "blob_hits": self.totals.blob_hits,
                    "bytes": self.totals.bytes,
                    "limits": {"exchanges": self.max_exchanges, "bytes": self.max_bytes}}
        (self.root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n",
                                                 encoding="utf-8")

    # -- one exchange ----------------------------------------------------------------------

    def _record(self, exchange: Exchange) -> dict[str, Any]:
        provider = exchange.provider
        known = provider in contracts.providers()
        found = rules(provider) if known else Rules()
        parts = urlsplit(exchange.url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        content_type = _header(exchange.request_headers, "content-type")
        body = parse_body(content_type, exchange.request_body)
        if isinstance(body, dict) and body.get("$blob") and exchange.request_body:
            body = self._blob(exchange.request_body, content_type=content_type or
                              "application/octet-stream")
        answer_type = _header(exchange.response_headers, "content-type")
        return {
            "provider": provider,
            "operations": list(exchange.operations),
            "storage": exchange.storage,
            "method": exchange.method,
            "url": urlunsplit(parts._replace(query=_redact_query(query, found))),
            "request": {
                "headers": _redact_headers(exchange.request_headers, found),
                "query": dict(parse_qsl(_redact_query(query, found), keep_blank_values=True)),
                "body": self._value(_redact(body, found)),
            },
            "response": {
                "status": exchange.status,
                "headers": {k.lower(): v for k, v in exchange.response_headers.items()
                            if k.lower() in KEPT_RESPONSE_HEADERS},
                "body": self._answer(exchange.response_body, answer_type, found),
            },
        }

    def _answer(self, data: bytes, content_type: str, found: Rules) -> Any:
        if not data:
            return None
        if "json" in content_type or data[:1] in (b"{", b"["):
            try:
                return self._value(_redact(json.loads(data), found))
            except (ValueError, RecursionError):
                pass
        return self._blob(data, content_type=content_type or "application/octet-stream")

    def _value(self, value: Any) -> Any:
        """``value`` with every long base64 string moved to a blob."""
        if isinstance(value, dict):
            return {k: self._value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v) for v in value]
        if isinstance(value, str):
            found = as_base64(value)
            if found is not None:
                prefix, data = found
                extra = {"encoding": "base64", **({"prefix": prefix} if prefix else {})}
                return self._blob(data, **extra)
            if value.startswith(("http://", "https://")):
                return _redact_url(value)
        return value

    def _blob(self, data: bytes, **extra: str) -> dict[str, str]:
        sha = digest(data)
        if sha in self._known:
            self.totals.blob_hits += 1
        else:
            self._spend(len(data))
            (self.root / "blobs" / sha).write_bytes(data)
            self._known.add(sha)
            self.totals.blobs += 1
        return blob_marker(sha, **extra)

    def _spend(self, size: int) -> None:
        if self.totals.bytes + size > self.max_bytes:
            raise RecordFull
        self.totals.bytes += size


def _header(headers: dict[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _redact_headers(headers: dict[str, str], found: Rules) -> dict[str, str]:
    secret = found.headers_redacted()
    return {k.lower(): (REDACTED if k.lower() in secret else v) for k, v in headers.items()}


def _redact(value: Any, found: Rules) -> Any:
    """Secret fields (at any depth) replaced by :data:`REDACTED`."""
    if isinstance(value, dict):
        return {k: (REDACTED if k in found.redact_fields else _redact(v, found))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, found) for v in value]
    return value


def _redact_query(query: dict[str, str], found: Rules) -> str:
    return urlencode([(k, REDACTED if k in found.redact_fields or _URL_SECRETS.search(k)
                       else v) for k, v in query.items()])


def _redact_url(url: str) -> str:
    """A URL whose signing parameters (S3, CloudFront, OSS) are redacted."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(_URL_SECRETS.search(k) for k, _ in pairs):
        return url
    query = urlencode([(k, REDACTED if _URL_SECRETS.search(k) else v) for k, v in pairs])
    return urlunsplit(parts._replace(query=query))
