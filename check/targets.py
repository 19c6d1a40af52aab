"""Where checks run: ``inproc`` (the mock's ASGI app in this process, the default), a URL (a
running ``bgmock serve`` or the container) or ``live`` (the providers' real base URLs, keys
from the environment, at most ``--live-budget`` paid calls)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from bgmock.check.admin import AsyncAdmin
from bgmock.check.model import Skipped

Kind = Literal["inproc", "url", "live"]

# The docs' demo credentials, which every fresh mock has (published in the providers' docs;
# tests/test_check_framework.py keeps them equal to the mock's fixtures).
DEMO_CREDENTIALS: dict[str, dict[str, str]] = {
    "topview": {"uid": "NsDAaOPF4jLuAie4ewyg",
                "api_key": "sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"},
    "aidge": {"app_key": "512345", "secret": "S4etzZ73nF08vOXVhk3wZjIaLSHw0123"},
    "picpik": {"public_key": "abcdefg", "private_key": "123456"},
    "runware": {"api_key": "runware-demo-key"},
}
# Live: each client argument from its environment variable.
LIVE_ENV: dict[str, dict[str, str]] = {
    "topview": {"uid": "TOPVIEW_UID", "api_key": "TOPVIEW_API_KEY"},
    "aidge": {"app_key": "AIDGE_APP_KEY", "secret": "AIDGE_APP_SECRET"},
    "picpik": {"public_key": "PICPIK_PUBLIC_KEY", "private_key": "PICPIK_PRIVATE_KEY"},
    "runware": {"api_key": "RUNWARE_API_KEY"},
}
LIVE_ROOTS = {"topview": "https://api.topview.ai", "aidge": "https://api.aidc-ai.com",
              "picpik": "https://api.picpik.ai", "runware": "https://api.runware.ai"}
LIVE_WEBSOCKETS = {"runware": "wss://ws-api.runware.ai/v1"}
# What a provider's reference client appends to the provider's root (its DEFAULT_BASE_URL).
CLIENT_SUFFIX = {"runware": "/v1"}
WEBSOCKET_PATHS = {"runware": "/v1"}
ADMIN_TOKEN_ENV = "BGMOCK_ADMIN_TOKEN"


class TargetError(ValueError):
    """A target spec that cannot be used (``--target live`` without a budget, a bad URL)."""


@dataclass
class Target:
    """One target. ``budget``: paid calls allowed (live only; ``None`` elsewhere)."""

    kind: Kind
    budget: int | None = None
    spent: int = 0

    @property
    def is_mock(self) -> bool:
        return self.kind != "live"

    def root_url(self, provider: str) -> str:
        """Where the provider is served: ``http://host:port/topview`` on a mock."""
        raise NotImplementedError

    def base_url(self, provider: str) -> str:
        """The ``base_url`` to give the provider's reference client."""
        return self.root_url(provider) + CLIENT_SUFFIX.get(provider, "")

    def root_path(self, provider: str) -> str:
        return urlsplit(self.root_url(provider)).path.rstrip("/")

    def transport(self) -> httpx.AsyncBaseTransport:
        """The transport every client shares (the context wraps it in an observer)."""
        raise NotImplementedError

    def credentials(self, provider: str) -> dict[str, Any]:
        """The reference client's credential arguments: the demo keys on a mock."""
        return dict(DEMO_CREDENTIALS[provider])

    @property
    def admin(self) -> AsyncAdmin | None:
        """The mock's admin API; ``None`` on the live API."""
        return None

    def websocket_url(self, provider: str) -> str | None:
        """The provider's WebSocket endpoint, ``None`` when it has none here."""
        return None

    async def start(self) -> None:
        """Ready the target (an in-process app's lifespan)."""

    async def close(self) -> None:
        """Release what :meth:`start` and :meth:`transport` opened."""

    def describe(self) -> str:
        return self.kind


class InprocTarget(Target):
    """A fresh mock app (virtual clock) in this process, reached through ASGI: no socket."""

    BASE = "http://bgmock.test"

    def __init__(self, app: Any | None = None) -> None:
        super().__init__("inproc")
        if app is None:
            from bgmock.server.app import create_app
            from bgmock.server.settings import Settings
            app = create_app(Settings(clock="virtual"))
        self.app = app
        self._transport = httpx.ASGITransport(app=app)
        self._admin_http = httpx.AsyncClient(transport=self._transport, timeout=60)
        self._admin = AsyncAdmin(self._admin_http, self.BASE)

    def root_url(self, provider: str) -> str:
        return f"{self.BASE}/{provider}"

    def transport(self) -> httpx.AsyncBaseTransport:
        return self._transport

    @property
    def admin(self) -> AsyncAdmin:
        return self._admin

    async def close(self) -> None:
        await self._admin_http.aclose()


class UrlTarget(Target):
    """A running mock (``bgmock serve``, the container) at ``url``; its admin API beside it
    (token from ``$BGMOCK_ADMIN_TOKEN`` when it is protected)."""

    def __init__(self, url: str, admin_token: str | None = None) -> None:
        super().__init__("url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TargetError(f"--target: expected inproc, live or an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self._transport = httpx.AsyncHTTPTransport()
        token = admin_token if admin_token is not None else os.environ.get(ADMIN_TOKEN_ENV)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._admin_http = httpx.AsyncClient(timeout=60, headers=headers)
        self._admin = AsyncAdmin(self._admin_http, self.url)

    def root_url(self, provider: str) -> str:
        return f"{self.url}/{provider}"

    def transport(self) -> httpx.AsyncBaseTransport:
        return self._transport

    @property
    def admin(self) -> AsyncAdmin:
        return self._admin

    def websocket_url(self, provider: str) -> str | None:
        path = WEBSOCKET_PATHS.get(provider)
        if path is None:
            return None
        return "ws" + self.root_url(provider).removeprefix("http") + path

    async def close(self) -> None:
        await self._admin_http.aclose()
        await self._transport.aclose()

    def describe(self) -> str:
        return self.url


class LiveTarget(Target):
    """The providers' real APIs; keys from the environment; ``budget`` paid calls at most."""

    def __init__(self, budget: int, env: dict[str, str] | None = None) -> None:
        super().__init__("live", budget=budget)
        self.env = os.environ if env is None else env
        self._transport = httpx.AsyncHTTPTransport()

    def root_url(self, provider: str) -> str:
        return LIVE_ROOTS[provider]

    def transport(self) -> httpx.AsyncBaseTransport:
        return self._transport

    def credentials(self, provider: str) -> dict[str, Any]:
        names = LIVE_ENV[provider]
        missing = [var for var in names.values() if not self.env.get(var)]
        if missing:
            raise Skipped(f"live: set {', '.join(missing)}")
        return {arg: self.env[var] for arg, var in names.items()}

    def websocket_url(self, provider: str) -> str | None:
        return LIVE_WEBSOCKETS.get(provider)

    async def close(self) -> None:
        await self._transport.aclose()


def make_target(spec: str, budget: int | None = None) -> Target:
    """``inproc`` | ``live`` | an http(s) URL. ``live`` needs ``budget`` (paid calls)."""
    if spec == "inproc":
        return InprocTarget()
    if spec == "live":
        if budget is None:
            raise TargetError("--target live needs --live-budget N (paid calls at most)")
        if not 0 <= budget <= 10_000:
            raise TargetError(f"--live-budget must be in 0..10000, got {budget}")
        return LiveTarget(budget)
    return UrlTarget(spec)
