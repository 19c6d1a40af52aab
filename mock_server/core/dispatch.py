"""A provider's surface: from a request (HTTP or one WebSocket message) to the operation(s) it
names, to one answer, to the journal (decision D80).

Routes come from ``contracts/<provider>/operations.json`` (:func:`contracts.routes`): a route is
named by path and method, by a body field, or per item of a JSON array. Provider paths are
static, so one dict lookup replaces regex route matching on the hot path.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bgmock.server.core.edge import (
    Unreadable,
    control_error,
    headers_of,
    query_of,
    read_params,
)
from bgmock.server.core.engine import Engine
from bgmock.server.core.faults import Fault, FaultSyntaxError, parse
from bgmock.server.core.httputil import allow_header
from bgmock.server.core.pipeline import (
    Bound,
    ControlError,
    Handler,
    Incoming,
    Outcome,
    ProviderError,
    Spec,
    perform,
)
from bgmock.server.core.websocket import serve
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from bgmock import contracts

log = logging.getLogger(__name__)
MAX_ITEMS = 1000  # operations one request may carry (each is run and journalled)


class Dispatcher:
    """One route: picks the operation(s) a request names, runs them, renders one answer and
    journals one entry per operation."""

    def __init__(self, spec: Spec, engine: Engine, route: contracts.Route,
                 bound: dict[str, Bound]) -> None:
        self.spec, self.engine, self.route = spec, engine, route
        self.ops = {value: bound[op.name] for value, op in route.operations.items()}
        first = next(iter(route.operations.values()))
        self.source = first.source if route.style == "plain" else "body"
        self.plain = self.ops.get("") if route.style == "plain" else None
        self.body_limit = (getattr(spec, "max_body_bytes", None)
                           or engine.settings.max_image_bytes * 2 + 1024 * 1024)
        # a WebSocket frame's limit: the provider's socket rule, else the body limit (D203)
        self.frame_limit = spec.socket_rules.max_frame_bytes or self.body_limit

    async def __call__(self, request: Request) -> Response:
        """An HTTP request: read it (bounded), answer it."""
        started = time.perf_counter()
        scope = request.scope
        incoming = Incoming(request.method, scope.get("bgmock.path", scope["path"]),
                            headers_of(request), query_of(request), None)
        unreadable: str | None = None  # the reason only: the refused bytes are dropped now
        try:
            incoming.params = await read_params(request, self.source, self.body_limit,
                                                incoming.query)
        except Unreadable as exc:
            unreadable = str(exc)
        return await self.answer(request, incoming, unreadable, started)

    async def answer(self, request: HTTPConnection, incoming: Incoming,
                     unreadable: str | None, started: float) -> Response:
        spec, engine = self.spec, self.engine
        incoming.request_id = spec.request_id()
        incoming.key = spec.key_of(incoming)
        header_text = incoming.headers.get("x-mock-fault")
        outcomes: tuple[Outcome, ...] | list[Outcome]
        try:
            try:
                header = parse(header_text) if header_text else None
            except FaultSyntaxError as exc:
                raise ControlError(f"X-Mock-Fault: {exc}") from exc
            if self.plain is not None:
                outcome = await perform(spec, engine, self.plain, request, incoming,
                                        incoming.params, unreadable, header)
                outcomes = (outcome,)
                response = self._render(incoming, outcome)
            elif self.route.style == "field":
                outcome = await self._by_field(request, incoming, unreadable, header)
                outcomes = (outcome,)
                response = self._render(incoming, outcome)
            else:
                outcomes = await self._per_item(request, incoming, unreadable, header)
                response = self._render_many(incoming, outcomes)
        except ControlError as exc:
            name = self.plain.name if self.plain is not None else ""
            outcomes = (Outcome(name, None, fault=header_text or ""),)
            response = control_error(str(exc))
            self._journal(request, incoming, outcomes, response.status_code, started, "bgmock")
            return response
        self._journal(request, incoming, outcomes, response.status_code, started)
        return response

    async def _by_field(self, request: HTTPConnection, incoming: Incoming,
                        unreadable: str | None, header: Fault | None) -> Outcome:
        body = incoming.params
        if unreadable is not None or not isinstance(body, dict):
            return Outcome("", body, error=self.spec.malformed(incoming),
                           detail={"problem": unreadable or "not a JSON object"})
        name = body.get(self.route.field)  # type: ignore[arg-type]
        op = self.ops.get(name) if isinstance(name, str) else None
        if op is None:
            return Outcome("", body, error=self.spec.unknown_operation(incoming, body, name))
        return await perform(self.spec, self.engine, op, request, incoming, body, None, header)

    async def _per_item(self, request: HTTPConnection, incoming: Incoming,
                        unreadable: str | None, header: Fault | None) -> list[Outcome]:
        items = incoming.params
        if unreadable is not None or not isinstance(items, list) or not items \
                or len(items) > MAX_ITEMS:
            problem = unreadable or f"not a JSON array of 1 to {MAX_ITEMS} items"
            return [Outcome("", items, error=self.spec.malformed(incoming),
                            detail={"problem": problem})]
        outcomes = []
        for item in items:
            name = item.get(self.route.field) if isinstance(item, dict) else None
            op = self.ops.get(name) if isinstance(name, str) else None
            if op is None:
                error = self.spec.unknown_operation(incoming, item, name)
                outcomes.append(Outcome("", item, error=error))
                continue
            outcomes.append(await perform(self.spec, self.engine, op, request, incoming,
                                          item, None, header))
        return outcomes

    def _render(self, incoming: Incoming, outcome: Outcome) -> Response:
        if outcome.error is None and outcome.call is not None:
            try:
                response = self.spec.render(outcome.call, outcome.result)
                outcome.detail = outcome.call.detail
                return response
            except ProviderError as exc:
                outcome.error = exc
            except Exception:
                log.exception("%s %s: rendering failed", self.spec.name, outcome.operation)
                outcome.error = self.spec.internal_error(incoming)
        assert outcome.error is not None
        return outcome.error.response()

    def _render_many(self, incoming: Incoming, outcomes: list[Outcome]) -> Response:
        try:
            response = self.spec.render_many(incoming, outcomes)
        except Exception:
            log.exception("%s: rendering %d outcomes failed", self.spec.name, len(outcomes))
            error = self.spec.internal_error(incoming)
            for outcome in outcomes:
                outcome.error = outcome.error or error
            return error.response()
        for outcome in outcomes:
            if outcome.error is None and outcome.call is not None:
                outcome.detail = outcome.call.detail
        return response

    def _journal(self, request: HTTPConnection, incoming: Incoming,
                 outcomes: tuple[Outcome, ...] | list[Outcome],
                 status: int, started: float, code: str | None = None) -> None:
        engine, scope = self.engine, request.scope
        duration = round((time.perf_counter() - started) * 1000, 3)
        now, path = engine.clock.now(), scope["path"]
        query = scope["query_string"].decode("latin-1")
        for outcome in outcomes:
            engine.journal.record(now, self.spec.name, outcome.operation, incoming.method,
                                  path, query, incoming.key, status, code or outcome.code,
                                  outcome.fault, duration, outcome.detail)


class ProviderApp:
    """A provider's surface: its routes (HTTP and WebSocket), its OpenAPI document, and answers
    in the provider's own shape for unknown paths or methods."""

    def __init__(self, spec: Spec, engine: Engine, handlers: dict[str, Handler],
                 public: tuple[str, ...] = ()) -> None:
        index = contracts.operations(spec.name)["operations"]
        missing = sorted(set(index) - set(handlers))
        if missing:
            raise RuntimeError(f"{spec.name}: no handler for {', '.join(missing)}")
        self.spec, self.engine = spec, engine
        bound = {name: Bound(name, f"{name}.request", handlers[name], name not in public)
                 for name in index}
        self.routes: dict[str, dict[str, Any]] = {}
        self.sockets: dict[str, Dispatcher] = {}
        for (path, method), route in contracts.routes(spec.name).items():
            dispatcher = Dispatcher(spec, engine, route, bound)
            if method == contracts.WEBSOCKET:
                self.sockets[path] = dispatcher
            else:
                self.routes.setdefault(path, {})[method] = dispatcher
        self.routes.setdefault("/openapi.json", {})["GET"] = self._openapi
        if self.sockets:  # the WebSocket frames, documented with the same schemas
            self.routes.setdefault("/asyncapi.json", {})["GET"] = self._asyncapi

    @property
    def frame_limit(self) -> int:
        """The largest WebSocket frame one of its routes takes (0: it has none)."""
        return max((d.frame_limit for d in self.sockets.values()), default=0)

    async def _openapi(self, _: Request) -> Response:
        return JSONResponse(contracts.openapi(self.spec.name))

    async def _asyncapi(self, _: Request) -> Response:
        from bgmock.contracts.asyncapi import asyncapi

        return JSONResponse(asyncapi(self.spec.name))

    async def __call__(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        scope["bgmock.path"] = path  # the path as the provider sees it (no prefix)
        if scope["type"] == "websocket":
            await serve(self.sockets.get(path), scope, receive, send)
            return
        methods = self.routes.get(path)
        if scope["method"] == "HEAD" and methods and "GET" in methods:
            scope = {**scope, "method": "GET"}  # HEAD is GET; the front door drops the body
        request = Request(scope, receive)
        if methods is None:
            response = self.spec.not_found(path in self.sockets, path).response()
        elif (endpoint := methods.get(scope["method"])) is None:
            response = self.spec.not_found(True, path).response()
            if response.status_code == 405:  # RFC 9110: a 405 lists the methods it allows
                response.headers["Allow"] = allow_header(methods)
        else:
            response = await endpoint(request)
        await response(scope, receive, send)
