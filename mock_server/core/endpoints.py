"""The way every provider request goes, so providers only write their service logic.

router -> fault rules + ``X-Mock-Fault`` -> latency -> auth -> contract validation (turned into
the provider's own error) -> injected error -> service handler -> provider envelope -> journal.
Anything unexpected becomes the provider's internal error, never a 500 with a traceback.
Routes come from ``contracts/<provider>/operations.json``: the contract says which paths exist.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import contracts
from mock_server.core.accounts import Account
from mock_server.core.engine import Engine
from mock_server.core.faults import Fault, FaultSyntaxError, parse

log = logging.getLogger(__name__)
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


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


Handler = Callable[[Call], Awaitable[Any]]


class Spec(Protocol):
    """What a provider tells the pipeline about itself."""

    name: str

    def key_of(self, request: Request) -> str | None: ...
    def authenticate(self, request: Request, engine: Engine) -> Account: ...
    def violation(self, problems: list[contracts.ValidationError]) -> ProviderError: ...
    def malformed(self) -> ProviderError: ...
    def injected(self, code: str) -> ProviderError: ...  # KeyError for an unknown code
    def internal_error(self) -> ProviderError: ...
    def not_found(self, known_path: bool) -> ProviderError: ...
    def render(self, call: Call, result: Any) -> Response: ...


def base_url(request: Request, engine: Engine) -> str:
    return engine.settings.public_url or str(request.base_url).rstrip("/")


async def read_json_body(request: Request, limit: int) -> Any:
    """The JSON body, or raises ``ValueError`` (too large, not JSON)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ValueError("body too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ValueError("body too large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    return json.loads(raw)


async def read_params(request: Request, source: str, limit: int) -> Any:
    if source == "query":
        params: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            params.setdefault(key, value)
        return params
    return await read_json_body(request, limit)


def control_error(message: str) -> Response:
    return JSONResponse({"bgmockError": message}, status_code=400)


def provider_routes(spec: Spec, engine: Engine, handlers: dict[str, Handler],
                    public: tuple[str, ...] = ()) -> list[BaseRoute]:
    """One route per operation in the provider's ``operations.json``, plus its OpenAPI and a
    catch-all that answers unknown paths in the provider's shape. ``public`` operations need
    no credentials."""
    index = contracts.operations(spec.name)["operations"]
    missing = sorted(set(index) - set(handlers))
    if missing:
        raise RuntimeError(f"{spec.name}: no handler for {', '.join(missing)}")
    routes: list[BaseRoute] = [
        Route(meta["path"], _endpoint(spec, engine, name, meta["in"], handlers[name],
                                      name not in public), methods=[meta["method"]])
        for name, meta in index.items()]
    known = {meta["path"] for meta in index.values()}

    async def openapi(_: Request) -> Response:
        return JSONResponse(contracts.openapi(spec.name))

    async def unknown(request: Request) -> Response:
        path = "/" + request.path_params["path"]
        return spec.not_found(path in known).response()

    routes.append(Route("/openapi.json", openapi, methods=["GET"]))
    routes.append(Route("/{path:path}", unknown, methods=ALL_METHODS))
    return routes


def _endpoint(spec: Spec, engine: Engine, operation: str, source: str, handler: Handler,
              needs_auth: bool) -> Callable[[Request], Awaitable[Response]]:
    schema = f"{operation}.request"
    body_limit = engine.settings.max_image_bytes * 2 + 1024 * 1024

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        key = spec.key_of(request)
        header = request.headers.get("x-mock-fault")
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
                await asyncio.sleep(fault.delay)
            account = spec.authenticate(request, engine) if needs_auth else None
            try:
                params = await read_params(request, source, body_limit)
            except ValueError as exc:  # includes JSONDecodeError
                detail = {"problem": str(exc)}
                raise spec.malformed() from exc
            problems = contracts.errors(spec.name, schema, params)
            if problems:
                detail = {"problem": problems[0].message}
                raise spec.violation(problems)
            if fault.error:
                raise injected
            call = Call(request, engine, operation, params, fault, account,
                        base_url(request, engine), detail)
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
            time=engine.clock.now(), provider=spec.name, operation=operation,
            method=request.method, path=request.url.path, query=request.url.query,
            key=key, status=response.status_code, code=code or "ok", fault=fault_text,
            durationMs=round((time.perf_counter() - started) * 1000, 3), **detail)
        return response

    return endpoint
