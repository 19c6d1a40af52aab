"""The way every provider request goes, so providers only write their service logic.

router -> fault rules + ``X-Mock-Fault`` -> latency -> auth -> contract validation (turned into
the provider's own error) -> injected error -> service handler -> provider envelope -> journal.
Anything unexpected becomes the provider's internal error, never a 500 with a traceback.
Paths come from ``contracts/<provider>/operations.json``: the contract says which paths exist.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

import contracts
from mock_server.core.accounts import Account
from mock_server.core.engine import Engine
from mock_server.core.faults import Fault, FaultSyntaxError, parse
from mock_server.core.httputil import allow_header

log = logging.getLogger(__name__)


class ProviderError(Exception):
    """An answer in the provider's own error shape. ``code`` is what the journal records."""

    code: str = ""

    def response(self) -> Response:  # pragma: no cover - each provider overrides
        raise NotImplementedError


class ControlError(Exception):
    """A mistake in the mock's own controls (a bad ``X-Mock-Fault``): HTTP 400, named plainly."""


@dataclass
class Call:
    request: Request
    engine: Engine
    operation: str
    params: dict[str, Any]
    fault: Fault
    account: Account | None
    base_url: str
    detail: dict[str, Any] = field(default_factory=dict)
    incoming: Incoming | None = None


Handler = Callable[[Call], Awaitable[Any]]
Headers = dict[str, str]  # lower-case names, as ASGI servers deliver them


def headers_of(request: Request) -> Headers:
    """Every header once, as a plain dict (later duplicates win)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}


@dataclass
class Incoming:
    """What a provider may look at to identify and authenticate a request. ``params`` is the
    parsed business input (None when the body could not be read; the error comes after auth)."""

    method: str
    path: str
    headers: Headers
    query: dict[str, str]
    params: Any


class Spec(Protocol):
    """What a provider tells the pipeline about itself."""

    name: str

    def key_of(self, incoming: Incoming) -> str | None: ...
    def authenticate(self, incoming: Incoming, engine: Engine) -> Account: ...
    def violation(self, problems: list[contracts.ValidationError]) -> ProviderError: ...
    def malformed(self) -> ProviderError: ...
    def injected(self, code: str) -> ProviderError: ...  # KeyError for an unknown code
    def internal_error(self) -> ProviderError: ...
    def not_found(self, known_path: bool, path: str) -> ProviderError: ...
    def render(self, call: Call, result: Any) -> Response: ...


_PLAIN_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def base_url(request: Request, engine: Engine, headers: Headers) -> str:
    """Where the URLs the mock hands out (results, uploads) point (D65): ``--public-url`` if
    set; for a request that came in under a provider's real ``Host`` (``api.topview.ai``, via a
    hosts file or a proxy), the address the connection actually reached, so the URLs still lead
    to the mock; otherwise the request's own ``Host``."""
    if engine.settings.public_url:
        return engine.settings.public_url
    scope, host = request.scope, headers.get("host", "")
    if _PLAIN_HOST.fullmatch(host):  # the usual case; Starlette's URL parsing costs ~5 us
        root = scope.get("app_root_path", scope.get("root_path", ""))
        name = host.rsplit(":", 1)[0].lower()
        if name in engine.provider_hosts:
            host = _reached(scope) or host
        return f"{scope['scheme']}://{host}{root}".rstrip("/")
    return str(request.base_url).rstrip("/")


def _reached(scope: Scope) -> str | None:
    """``host[:port]`` of the server address the connection reached (ASGI ``server``)."""
    server = scope.get("server")
    if not server or len(server) < 2 or not server[0] or "/" in str(server[0]):
        return None  # no address, or a Unix socket: nothing a client could reach
    address, port = str(server[0]), server[1]
    if ":" in address:  # IPv6
        address = f"[{address}]"
    if port is None or (scope["scheme"], port) in (("http", 80), ("https", 443)):
        return address  # None: the scheme's default port (httpx's ASGI transport)
    return f"{address}:{port}"


class Unreadable(ValueError):
    """The body cannot be read as the operation's input (too large, not JSON, too deep, or
    text that cannot be encoded). Carries only a short reason: no reference to the bytes."""


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, or :class:`Unreadable` when it is over ``limit`` bytes. A refused body is
    dropped at once (nothing of it stays referenced from the exception)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Unreadable("body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            chunks.clear()
            raise Unreadable("body too large")
        chunks.append(chunk)
    return b"".join(chunks)


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


def parse_json(raw: bytes) -> Any:
    """JSON text -> value, refusing (:class:`Unreadable`) what must never be stored: invalid
    JSON, nesting too deep to parse, and lone surrogates (legal JSON escapes that no UTF-8 store,
    log or answer can carry). Decided once, here, at the edge (decision D28)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise Unreadable("JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise Unreadable(f"not JSON: {str(exc)[:120]}") from None
    # Only an escape (\ud800..\udfff) can produce a surrogate: skip the walk when none is there.
    if (b"\\ud" in raw or b"\\uD" in raw) and _has_lone_surrogate(value):
        raise Unreadable("text that cannot be encoded (a lone UTF-16 surrogate)")
    return value


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
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        params.setdefault(key, value)
    return params


def query_of(request: Request) -> dict[str, str]:
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
    return JSONResponse({"bgmockError": message}, status_code=400)


class ProviderApp:
    """A provider's HTTP surface: exact (path, method) dispatch to its operations, its OpenAPI
    document, and answers in the provider's own shape for unknown paths or methods.

    Provider paths are static, so one dict lookup replaces regex route matching on the hot path.
    """

    def __init__(self, spec: Spec, engine: Engine, handlers: dict[str, Handler],
                 public: tuple[str, ...] = ()) -> None:
        index = contracts.operations(spec.name)["operations"]
        missing = sorted(set(index) - set(handlers))
        if missing:
            raise RuntimeError(f"{spec.name}: no handler for {', '.join(missing)}")
        self.spec = spec
        self.routes: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
        for name, meta in index.items():
            endpoint = _endpoint(spec, engine, name, meta["in"], handlers[name],
                                 name not in public)
            for method in meta.get("methods", [meta.get("method")]):
                self.routes.setdefault(meta["path"], {})[method] = endpoint
        self.routes.setdefault("/openapi.json", {})["GET"] = self._openapi

    async def _openapi(self, _: Request) -> Response:
        return JSONResponse(contracts.openapi(self.spec.name))

    async def __call__(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        methods = self.routes.get(path)
        scope["bgmock.path"] = path  # the path as the provider sees it (no prefix)
        if scope["method"] == "HEAD" and methods and "GET" in methods:
            scope = {**scope, "method": "GET"}  # HEAD is GET; the front door drops the body
        request = Request(scope, receive)
        if methods is None:
            response = self.spec.not_found(False, path).response()
        elif (endpoint := methods.get(scope["method"])) is None:
            response = self.spec.not_found(True, path).response()
            if response.status_code == 405:  # RFC 9110: a 405 lists the methods it allows
                response.headers["Allow"] = allow_header(methods)
        else:
            response = await endpoint(request)
        await response(scope, receive, send)


def _endpoint(spec: Spec, engine: Engine, operation: str, source: str, handler: Handler,
              needs_auth: bool) -> Callable[[Request], Awaitable[Response]]:
    schema = f"{operation}.request"
    body_limit = engine.settings.max_image_bytes * 2 + 1024 * 1024

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        scope = request.scope
        incoming = Incoming(request.method, scope.get("bgmock.path", scope["path"]),
                            headers_of(request), query_of(request), None)
        unreadable: str | None = None  # the reason only: the refused bytes are dropped now
        try:
            incoming.params = await read_params(request, source, body_limit, incoming.query)
        except Unreadable as exc:
            unreadable = str(exc)
        key = spec.key_of(incoming)
        header = incoming.headers.get("x-mock-fault")
        code, detail, fault_text = "", {}, header or ""
        try:
            try:
                header_fault = parse(header) if header else None
            except FaultSyntaxError as exc:
                raise ControlError(f"X-Mock-Fault: {exc}") from exc
            fault = engine.faults.resolve(spec.name, operation, key, header_fault)
            fault_text = fault.describe()
            if fault.error:
                try:
                    injected = spec.injected(fault.error)
                except KeyError as exc:
                    raise ControlError(f"X-Mock-Fault: {spec.name} has no error code "
                                       f"{fault.error!r}") from exc
            if fault.delay:
                await engine.pause(fault.delay)  # ends early on shutdown
            account = spec.authenticate(incoming, engine) if needs_auth else None
            if unreadable is not None:
                detail = {"problem": unreadable}
                raise spec.malformed()
            params = incoming.params
            problems = contracts.errors(spec.name, schema, params)
            if problems:
                detail = {"problem": problems[0].message}
                raise spec.violation(problems)
            if fault.error:
                raise injected
            call = Call(request, engine, operation, params, fault, account,
                        base_url(request, engine, incoming.headers), detail, incoming)
            response = spec.render(call, await handler(call))
            detail = call.detail
        except ProviderError as exc:
            code, response = exc.code, exc.response()
        except ControlError as exc:
            code, response = "bgmock", control_error(str(exc))
        except Exception:
            log.exception("%s %s failed", spec.name, operation)
            error = spec.internal_error()
            code, response = error.code, error.response()
        engine.journal.record(
            engine.clock.now(), spec.name, operation, request.method, request.scope["path"],
            request.scope["query_string"].decode("latin-1"), key, response.status_code,
            code or "ok", fault_text, round((time.perf_counter() - started) * 1000, 3), detail)
        return response

    return endpoint
