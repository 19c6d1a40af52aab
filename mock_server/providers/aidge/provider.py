"""Aidge as the mock serves it: what it declares to the engine (D88)."""

from __future__ import annotations

from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import ProviderApp
from bgmock.server.core.engine import Engine
from bgmock.server.core.provider import ProviderBase
from bgmock.server.providers.aidge import fixtures, routes, service


class Aidge(ProviderBase):
    name = service.PROVIDER
    prefix = "/aidge"
    hosts = ("api.aidc-ai.com", "cn-api.aidc-ai.com")
    limits = fixtures.AidgeLimits  # what the admin API and config may set in ``extra``

    def new_account(self, engine: Engine, key: str, secret: str) -> Account:
        """An account created through the admin API: the demo account's limits (rate limits
        off on the virtual clock, D64)."""
        return fixtures.account(key, secret, rates_on=engine.settings.clock == "real")

    def seed(self, engine: Engine) -> None:
        fixtures.seed(engine)

    def app(self, engine: Engine) -> ProviderApp:
        return routes.app(engine)
