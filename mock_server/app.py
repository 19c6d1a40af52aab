"""``create_app(settings)``: one ASGI app serving every provider, the admin API and files."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import __version__, files_routes
from mock_server.admin.routes import create_admin
from mock_server.core.engine import Engine
from mock_server.providers import all_providers
from mock_server.settings import Settings

UNPREFIXED = ("/__admin", "/files/")


class HostRouter:
    """Requests for a provider's own host (``Host: api.topview.ai``) reach its routes without the
    ``/topview`` prefix, so unmodified clients work through a hosts-file entry or a proxy."""

    def __init__(self, app: ASGIApp, prefixes: dict[str, str]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
            prefix = self.prefixes.get(host.rsplit(":", 1)[0].lower()) if host else None
            path = scope["path"]
            if prefix and not path.startswith(UNPREFIXED) and not path.startswith(prefix + "/"):
                scope = dict(scope, path=prefix + path,
                             raw_path=prefix.encode() + scope.get("raw_path", path.encode()))
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    providers = all_providers()
    engine = Engine(settings, providers)

    async def index(_: Request) -> JSONResponse:
        return JSONResponse({
            "service": "bgmock", "version": __version__,
            "providers": {p.name: {"prefix": p.prefix, "hosts": list(p.hosts),
                                   "openapi": f"{p.prefix}/openapi.json"} for p in providers},
            "admin": "/__admin/openapi.json"})

    routes: list[Any] = [Route("/", index, methods=["GET"]),
                         Mount("/__admin", app=create_admin(engine)),
                         *files_routes.routes(engine)]
    routes += [Mount(p.prefix, routes=p.routes(engine)) for p in providers]
    app = FastAPI(title="bgmock", version=__version__, openapi_url=None, docs_url=None,
                  redoc_url=None, routes=routes)
    app.state.engine = engine
    app.state.settings = settings
    app.add_middleware(HostRouter, prefixes={h: p.prefix for p in providers for h in p.hosts})
    return app
