"""Runware as the mock serves it: what it declares to the engine (D88)."""

from __future__ import annotations

from bgmock.server.core.accounts import Account
from bgmock.server.core.engine import Engine
from bgmock.server.core.provider import ProviderBase
from bgmock.server.providers.runware import fixtures, routes
from bgmock.server.providers.runware.images import PROVIDER


class Runware(ProviderBase):
    name = PROVIDER
    prefix = "/runware"
    # REST, WebSocket, and the image host (R18: /image/ii/... without the prefix there).
    hosts = ("api.runware.ai", "ws-api.runware.ai", "im.runware.ai")

    def new_account(self, engine: Engine, key: str, secret: str) -> Account:
        """A key created through the admin API: the starting credits (R26); the admin API's
        ``secret`` is not used (Runware keys have none)."""
        return fixtures.account(engine, key)

    def seed(self, engine: Engine) -> None:
        fixtures.seed(engine)

    def app(self, engine: Engine) -> routes.RunwareApp:
        return routes.app(engine)
