"""The edge of the provider pipeline: reading what a client sent, bounded and refused early,
and the base URL the mock's answers point at. Nothing here knows a provider."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import orjson
from bgmock.server.core.engine import Engine
from bgmock.server.core.jsonbody import FastJSONResponse
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import Response
from starlette.types import Scope

Headers = dict[str, str]  # lower-case names, as ASGI servers deliver them


def headers_of(request: HTTPConnection) -> Headers:
    """Every header once, as a plain dict (later duplicates win)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}


_HTTP_SCHEME = {"ws": "http", "wss": "https"}  # a WebSocket's answers point at HTTP URLs
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def base_url(request: HTTPConnection, engine: Engine, headers: Headers) -> str:
    """Where the URLs the mock hands out (results, uploads) point (D65): ``--public-url`` if
    set; for a request that came in under a provider's real ``Host`` (``api.topview.ai``, via a
    hosts file or a proxy), the address the connection actually reached, so the URLs still lead
    to the mock; otherwise the request's own ``Host``."""
    if engine.settings.public_url:
        return engine.settings.public_url
    scope, host = request.scope, headers.get("host", "")
    root = scope.get("app_root_path", scope.get("root_path", ""))
    server = scope.get("server")
    found = _plain_base(host, scope["scheme"], root, tuple(server) if server else None,
                        engine.provider_hosts)
    if found is not None:
        return found
    url = request.base_url
    if url.scheme in _HTTP_SCHEME:
        url = url.replace(scheme=_HTTP_SCHEME[url.scheme])
    return str(url).rstrip("/")


@lru_cache(maxsize=64)  # authenticated callers only (after auth); a client varying Host is capped
def _plain_base(host: str, scheme: str, root: str, server: tuple[Any, ...] | None,
                provider_hosts: frozenset[str]) -> str | None:
    """The base for a plain ``host[:port]`` (the usual case; Starlette's URL parsing costs
    ~5 us), None for anything else."""
    if not _PLAIN_HOST.fullmatch(host):
        return None
    name = host.rsplit(":", 1)[0].lower()
    if name in provider_hosts:
        host = _reached({"server": server, "scheme": scheme}) or host
    scheme = _HTTP_SCHEME.get(scheme, scheme)
    return f"{scheme}://{host}{root}".rstrip("/")


def _reached(scope: Scope) -> str | None:
    """``host[:port]`` of the server address the connection reached (ASGI ``server``)."""
    server = scope.get("server")
    if not server or len(server) < 2 or not server[0] or "/" in str(server[0]):
        return None  # no address, or a Unix socket: nothing a client could reach
    address, port = str(server[0]), server[1]
    if ":" in address:  # IPv6
        address = f"[{address}]"
    if port is None or (scope["scheme"], port) in (("http", 80), ("https", 443), ("ws", 80),
                                                   ("wss", 443)):
        return address  # None: the scheme's default port (httpx's ASGI transport)
    return f"{address}:{port}"


class Unreadable(ValueError):
    """The body cannot be read as the operation's input (too large, not JSON, too deep, or
    text that cannot be encoded). Carries only a short reason: no reference to the bytes."""


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, or :class:`Unreadable` when it is over ``limit`` bytes. A refused body is
    dropped at once (nothing of it stays referenced from the exception). Read from the ASGI
    messages directly (Starlette's ``stream()`` generator costs more than the usual one-message
    body); a disconnect raises Starlette's ``ClientDisconnect`` as ``stream()`` would."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Unreadable("body too large")
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            chunks.clear()
            raise Unreadable("body too large")
        if not message.get("more_body", False):
            return b"".join(chunks) + chunk if chunks else chunk
        chunks.append(chunk)


def _has_lone_surrogate(value: Any) -> bool:
    """True when a parsed JSON value holds a string that UTF-8 cannot encode (``"\\ud800"``)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")  # Python's json reads NaN, Infinity


def parse_json(raw: bytes) -> Any:
    """JSON text -> value, refusing (:class:`Unreadable`) what must never be stored: invalid
    JSON (``NaN`` and ``Infinity`` too, which Python's parser would take), nesting too deep to
    parse, and lone surrogates (legal JSON escapes that no UTF-8 store,
    log or answer can carry). Decided once, here, at the edge (decision D28)."""
    try:  # orjson reads valid UTF-8 JSON 3-5x faster; anything it refuses, json decides (D162)
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = _parse_json_slowly(raw)
    else:
        return value  # orjson refuses lone surrogates itself: nothing to look for
    # Only an escape (\ud800..\udfff) can produce a surrogate: skip the walk when none is there.
    if (b"\\ud" in raw or b"\\uD" in raw) and _has_lone_surrogate(value):
        raise Unreadable("text that cannot be encoded (a lone UTF-16 surrogate)")
    return value


def _parse_json_slowly(raw: bytes) -> Any:
    """Python's parser, for its messages and what orjson does not take (UTF-16 or UTF-32 text).
    (An integer beyond 64 bits is a float to orjson, as to JavaScript: no provider's field
    takes one, so it is refused either way, with the same error.)"""
    try:
        return json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise Unreadable("JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise Unreadable(f"not JSON: {str(exc)[:120]}") from None


async def read_json_body(request: Request, limit: int) -> Any:
    """The JSON body (``{}`` when empty), or raises :class:`Unreadable`."""
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    return parse_json(raw)


def _query(raw: bytes) -> dict[str, str]:
    """First value of each query parameter. Not cached: nothing a client sends before it is
    authenticated is retained."""
    params: dict[str, str] = {}
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
    else:  # nothing to unquote (a polled taskId): parse_qsl's split alone, at a third the cost
        pairs = [part.partition("=")[::2] for part in text.split("&") if part]
    for key, value in pairs:
        params.setdefault(key, value)
    return params


def query_of(request: HTTPConnection) -> dict[str, str]:
    return _query(request.scope["query_string"])


async def read_params(request: Request, source: str, limit: int,
                      query: dict[str, str]) -> Any:
    """Business input. ``query``: the query string; ``body``: the JSON body; ``mixed`` (gateway
    style): the query string for GET, else a form-encoded or JSON body."""
    if source == "query" or (source == "mixed" and request.method == "GET"):
        return query
    content_type = request.headers.get("content-type", "")
    if source == "mixed" and content_type.startswith("application/x-www-form-urlencoded"):
        raw = await read_body(request, limit)
        return _query(raw)
    return await read_json_body(request, limit)


def control_error(message: str) -> Response:
    return FastJSONResponse({"bgmockError": message}, status_code=400)


