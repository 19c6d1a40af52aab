"""``create_app(settings)``: one ASGI app serving every provider, the admin API and files."""

from __future__ import annotations

from typing import Any

from bgmock.server import __version__, files_routes
from bgmock.server.admin.health import health_report, token_ok
from bgmock.server.core import replay as replaying
from bgmock.server.core.dispatch import ProviderApp
from bgmock.server.core.engine import Engine
from bgmock.server.core.httputil import read_capped, replay, without_body
from bgmock.server.core.replay import Recording
from bgmock.server.providers import Provider, all_providers
from bgmock.server.settings import Settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

UNPREFIXED = ("/__admin", "/files/")
WS_MAX_SIZE = 16 * 1024 * 1024  # uvicorn's default frame cap, kept where no route needs more
FRAME_SLACK = 1024 * 1024       # over a route's limit, still read and refused in its own words
ADMIN_BODY_LIMIT = 1024 * 1024  # admin bodies are a few hundred bytes


class FrontDoor:
    """Sends provider traffic (HTTP and WebSocket) straight to its :class:`ProviderApp`; the
    rest to the router.

    A request reaches a provider by its prefix (``/topview/...``) or by its ``Host``
    (``api.topview.ai``, no prefix: unmodified clients work through a hosts-file entry or a
    proxy). ``/__admin`` and ``/files/`` are never a provider's, whatever the host.
    """

    def __init__(self, fallback: ASGIApp, providers: dict[str, ProviderApp],
                 hosts: dict[str, str]) -> None:
        self.fallback = fallback
        self.providers = providers
        self.hosts = hosts

    def _route(self, scope: Scope) -> tuple[ProviderApp, str] | None:
        path: str = scope["path"]
        prefix, _, rest = path[1:].partition("/")
        app = self.providers.get(prefix)
        if app is not None:
            return app, "/" + rest
        if self.hosts and not path.startswith(UNPREFIXED):
            for name, value in scope["headers"]:
                if name == b"host":
                    host = value.decode("latin-1").rsplit(":", 1)[0].lower()
                    provider = self.hosts.get(host)
                    return (self.providers[provider], path) if provider else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and scope["method"] == "HEAD":
            send = without_body(send)  # every HEAD: GET's status and headers, no body
        if kind in ("http", "websocket") and (found := self._route(scope)) is not None:
            app, path = found
            await app(scope, receive, send, path)
            return
        await self.fallback(scope, receive, send)


class MockApp(Starlette):
    """The Starlette app (admin, files, lifespan, ``app.state``) with the :class:`FrontDoor`
    in front of it: provider traffic goes straight to its provider, without Starlette's
    application and error-middleware layers (a provider answers every failure itself, in its
    own shape; what escapes is uvicorn's 500 either way), D167."""

    front_door: FrontDoor
    ws_max_size: int = WS_MAX_SIZE  # the server's frame cap (uvicorn closes over it: 1009)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.front_door(scope, receive, send)

    async def starlette(self, scope: Scope, receive: Receive, send: Send) -> None:
        await Starlette.__call__(self, scope, receive, send)


def create_app(settings: Settings | None = None,
               providers: list[Provider] | None = None,
               recording: Recording | None = None) -> MockApp:
    """``providers``: the ones to serve (default: every provider the mock has; tests add
    test-only providers here). ``recording``: answers to replay (default: read from
    ``settings.replay`` when set; :class:`RecordingError` if unusable)."""
    settings = settings or Settings()
    if recording is None and settings.replay:
        recording = Recording.load(settings.replay)
    providers = all_providers() if providers is None else providers
    engine = Engine(settings, providers)

    async def index(_: Request) -> JSONResponse:
        return JSONResponse({
            "service": "bgmock", "version": __version__,
            "providers": {p.name: {"prefix": p.prefix, "hosts": list(p.hosts),
                                   "openapi": f"{p.prefix}/openapi.json"} for p in providers},
            "admin": "/__admin/openapi.json"})

    admin: list[ASGIApp] = []

    async def lazy_admin(scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI costs ~150 ms to import: build the admin app on its first call. Bodies over
        ADMIN_BODY_LIMIT are refused unread; HEAD is answered as GET (the front door drops
        the body)."""
        if not admin:
            from bgmock.server.admin.routes import create_admin
            admin.append(create_admin(engine))
        if scope["type"] == "http":
            declared = Request(scope).headers.get("content-length", "")
            too_long = declared.isdigit() and (len(declared) > 12
                                               or int(declared) > ADMIN_BODY_LIMIT)
            body = None if too_long else await read_capped(receive, ADMIN_BODY_LIMIT)
            if body is None:
                too_large = JSONResponse({"detail": "request body over 1 MiB"}, status_code=413)
                await too_large(scope, receive, send)
                return
            receive = replay(body, receive)
            if scope["method"] == "HEAD":
                scope = {**scope, "method": "GET"}
        await admin[0](scope, receive, send)

    async def health(request: Request) -> JSONResponse:  # fast: no FastAPI needed
        if not token_ok(engine, request.headers.get("authorization")):
            return JSONResponse({"detail": "admin token required"}, status_code=401)
        return JSONResponse(health_report(engine))

    routes: list[Any] = [Route("/", index, methods=["GET"]),
                         Route("/__admin/health", health, methods=["GET"]),
                         Mount("/__admin", app=lazy_admin),
                         *([replaying.files_route(recording)] if recording else []),
                         *files_routes.routes(engine)]
    app = MockApp(routes=routes, lifespan=engine.lifespan)  # the scheduler's timer (D91)
    app.state.engine = engine
    app.state.settings = settings
    app.front_door = FrontDoor(
        app.starlette,
        providers={p.prefix.strip("/"): p.app(engine) for p in providers},
        hosts={host: p.prefix.strip("/") for p in providers for host in p.hosts})
    if recording is not None:  # recorded answers in front of the providers' dispatch (D244)
        app.front_door.providers = {
            name: replaying.ReplayingApp(inner, name, engine, recording)
            if name in recording.providers else inner
            for name, inner in app.front_door.providers.items()}
    largest = max((a.frame_limit for a in app.front_door.providers.values()), default=0)
    app.ws_max_size = max(WS_MAX_SIZE, largest + FRAME_SLACK)  # D203
    return app
