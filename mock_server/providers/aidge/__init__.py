"""Aidge (api.aidc-ai.com): the IOP-style gateway and Image Background Removal."""

from __future__ import annotations

from mock_server.core.accounts import Account
from mock_server.core.endpoints import ProviderApp
from mock_server.core.engine import Engine
from mock_server.providers.aidge import fixtures, routes, service


class Aidge:
    name = service.PROVIDER
    prefix = "/aidge"
    hosts = ("api.aidc-ai.com", "cn-api.aidc-ai.com")
    # Limits the admin API may set in an account's ``extra``: name -> (lowest, highest).
    account_limits = {"trial_quota": (0, 10**9), "quota": (0, 10**9),
                      "qps": (1, 10**6), "burst": (1, 10**6)}

    def new_account(self, key: str, secret: str) -> Account:
        """An account created through the admin API: the demo account's limits."""
        return fixtures.account(key, secret)

    def fresh_state(self) -> None:
        return None

    def seed(self, engine: Engine) -> None:
        fixtures.seed(engine)

    def app(self, engine: Engine) -> ProviderApp:
        return routes.app(engine)
