"""Aidge (api.aidc-ai.com): the IOP-style gateway and Image Background Removal."""

from __future__ import annotations

from mock_server.core.accounts import Account, LimitRange
from mock_server.core.endpoints import ProviderApp
from mock_server.core.engine import Engine
from mock_server.providers.aidge import fixtures, routes, service


class Aidge:
    name = service.PROVIDER
    prefix = "/aidge"
    hosts = ("api.aidc-ai.com", "cn-api.aidc-ai.com")
    # Limits the admin API may set in an account's ``extra``; null turns a rate limit off.
    account_limits = {"trial_quota": LimitRange(0, 10**9), "quota": LimitRange(0, 10**9),
                      "qps": LimitRange(1, 10**6, nullable=True),
                      "burst": LimitRange(1, 10**6, nullable=True)}

    def new_account(self, engine: Engine, key: str, secret: str) -> Account:
        """An account created through the admin API: the demo account's limits (rate limits
        off on the virtual clock, D64)."""
        return fixtures.account(key, secret, rates_on=engine.settings.clock == "real")

    def fresh_state(self) -> None:
        return None

    def seed(self, engine: Engine) -> None:
        fixtures.seed(engine)

    def app(self, engine: Engine) -> ProviderApp:
        return routes.app(engine)
