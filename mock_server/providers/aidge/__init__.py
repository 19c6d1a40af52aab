"""Aidge (api.aidc-ai.com): the IOP-style gateway and Image Background Removal."""

from __future__ import annotations

from mock_server.core.endpoints import ProviderApp
from mock_server.core.engine import Engine
from mock_server.providers.aidge import fixtures, routes, service


class Aidge:
    name = service.PROVIDER
    prefix = "/aidge"
    hosts = ("api.aidc-ai.com", "cn-api.aidc-ai.com")

    def fresh_state(self) -> None:
        return None

    def seed(self, engine: Engine) -> None:
        fixtures.seed(engine)

    def app(self, engine: Engine) -> ProviderApp:
        return routes.app(engine)
