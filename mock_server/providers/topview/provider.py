"""Topview as the mock serves it: what it declares to the engine (D88)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mock_server.core.accounts import Account, from_config
from mock_server.core.endpoints import ProviderApp
from mock_server.core.engine import Engine
from mock_server.core.provider import ProviderBase
from mock_server.providers.topview import fixtures, routes, service


class Topview(ProviderBase):
    name = service.PROVIDER
    prefix = "/topview"
    hosts = ("api.topview.ai",)
    cloudfront_origins = {service.DISTRIBUTION: service.RESULT_BUCKET}
    # limits: none beyond credits and concurrency (ProviderBase's NoLimits)

    def config_account(self, engine: Engine, entry: Mapping[str, Any]) -> Account:
        return from_config(self.name, entry, fixtures.CONFIG_NAMES, self.limits,
                           lambda key, secret: self.new_account(engine, key, secret))

    def fresh_state(self) -> service.TopviewState:
        return service.TopviewState()

    def seed(self, engine: Engine) -> None:
        fixtures.seed(engine)

    def app(self, engine: Engine) -> ProviderApp:
        return routes.app(engine)
