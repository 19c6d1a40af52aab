"""Every exchange a check makes, as a typed :class:`Exchange`, handed to sinks (the drift
report, the recorder). The operation is named as the mock names it: from the contracts' routes
(path and method, a body field such as PICPIK's ``Action``, one per item for Runware's arrays).
Secrets are redacted before a sink sees them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from bgmock import contracts

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                            "x-api-key", "x-amz-security-token"})
# query/body fields whose values are keys or signatures (case-insensitive, exact names)
SECRET_FIELDS = frozenset({"sign", "signature", "apikey", "api_key", "secret", "privatekey",
                           "private_key", "x-amz-signature", "x-amz-credential", "ossaccesskeyid",
                           "access_key_id", "accesskeyid", "accesskeysecret", "securitytoken",
                           "policy", "expires"})
REDACTED = "<redacted>"
_MAX_BODY = 4 * 1024 * 1024     # bodies kept per exchange; beyond, only their length
_URL_SECRET = re.compile(r"([?&](?:" + "|".join(re.escape(f) for f in sorted(SECRET_FIELDS))
                         + r")=)[^&#]*", re.IGNORECASE)


@dataclass(frozen=True)
class Exchange:
    """One request and its answer. ``operation``: the contract operation the request named
    (the first item's for an array); ``operations``: one per item (Runware), else one.
    ``request_body``/``response_body``: the bytes (cut at 4 MiB)."""

    provider: str
    operation: str | None
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    operations: tuple[str, ...] = field(default=())
    storage: bool = False      # an upload/download on the provider's storage, not the API

    def json(self) -> Any:
        """The answer's JSON value, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.response_body)
        except (ValueError, RecursionError):
            return None


Sink = Callable[[Exchange], None]


def redact_url(url: str) -> str:
    return _URL_SECRET.sub(lambda m: m.group(1) + REDACTED, url)


def redact_headers(headers: httpx.Headers) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v)
            for k, v in headers.items()}


def _redact_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and k.lower() in SECRET_FIELDS
                    else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    return value


def redact_body(body: bytes, content_type: str) -> bytes:
    """JSON and form bodies with secret fields replaced; anything else unchanged."""
    if "json" in content_type:
        try:
            return json.dumps(_redact_value(json.loads(body))).encode()
        except (ValueError, RecursionError):
            return body
    if "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        return urlencode([(k, REDACTED if k.lower() in SECRET_FIELDS else v)
                          for k, v in pairs]).encode("latin-1")
    return body


def _body_value(body: bytes, content_type: str) -> Any:
    if "x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def operations_of(provider: str, root_path: str, method: str, path: str, query: dict[str, str],
                  body: bytes, content_type: str) -> tuple[str, ...]:
    """The contract operations a request names (empty: none of the provider's routes).
    ``root_path``: where the provider is mounted on the target (``/topview`` on a mock)."""
    rel = path[len(root_path):] if root_path and path.startswith(root_path) else path
    rel = rel or "/"
    found = contracts.routes(provider)
    route = found.get((rel, method)) or found.get((rel.rstrip("/") or "/", method))
    if route is None:
        return ()
    if route.style == "plain":
        return tuple(op.name for op in route.operations.values())[:1]
    value = _body_value(body, content_type)
    if route.style == "field":
        source = value if isinstance(value, dict) else query
        op = route.operations.get(str(source.get(route.field, ""))) if source else None
        return (op.name,) if op else ()
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    names = []
    for item in items:
        op = route.operations.get(str(item.get(route.field, ""))) if isinstance(item, dict) \
            else None
        if op is not None:
            names.append(op.name)
    return tuple(names)


class ObservingTransport(httpx.AsyncBaseTransport):
    """Forwards to ``inner`` and hands each exchange to every sink. ``provider`` and
    ``root_path`` (where the target mounts it) name the operation; ``on_exchange`` is told
    each one first (the context counts calls)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, sinks: Iterable[Sink], *,
                 provider: str = "", root_path: str = "",
                 storage: Callable[[httpx.Request], bool] | None = None) -> None:
        self.inner = inner
        self.sinks = list(sinks)
        self.provider = provider
        self.root_path = root_path.rstrip("/")
        self.storage = storage or (lambda request: "/files/" in request.url.path)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.observe(request, body, response, content)
        return response

    def observe(self, request: httpx.Request, body: bytes, response: httpx.Response,
                content: bytes) -> Exchange:
        content_type = request.headers.get("content-type", "")
        storage = self.storage(request)
        names: tuple[str, ...] = ()
        if self.provider and not storage:
            names = operations_of(self.provider, self.root_path, request.method,
                                  request.url.path, dict(request.url.params), body,
                                  content_type)
        exchange = Exchange(
            provider=self.provider, operation=names[0] if names else None,
            method=request.method, url=redact_url(str(request.url)),
            request_headers=redact_headers(request.headers),
            request_body=redact_body(body, content_type)[:_MAX_BODY],
            status=response.status_code, response_headers=dict(response.headers),
            response_body=content[:_MAX_BODY], operations=names, storage=storage)
        for sink in self.sinks:
            sink(exchange)
        return exchange

    async def aclose(self) -> None:
        await self.inner.aclose()
