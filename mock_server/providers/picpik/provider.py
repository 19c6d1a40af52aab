"""PICPIK as the mock serves it: what it declares to the engine (D88)."""

from __future__ import annotations

from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import ProviderApp
from bgmock.server.core.engine import Engine
from bgmock.server.core.provider import ProviderBase
from bgmock.server.providers.picpik import fixtures, routes, service


class Picpik(ProviderBase):
    name = service.PROVIDER
    prefix = "/picpik"
    hosts = ("api.picpik.ai", "api.picpikai.com")
    limits = fixtures.PicpikLimits  # what the admin API and config may set in ``extra``

    def new_account(self, engine: Engine, key: str, secret: str) -> Account:
        """An account created through the admin API: the starting points, signature checked."""
        return fixtures.account(engine, key, secret)

    def seed(self, engine: Engine) -> None:
        fixtures.seed(engine)

    def app(self, engine: Engine) -> ProviderApp:
        return routes.app(engine)
