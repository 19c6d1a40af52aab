"""Topview (api.topview.ai): upload and remove background."""

from __future__ import annotations

from mock_server.core.accounts import Account, LimitRange
from mock_server.core.endpoints import ProviderApp
from mock_server.core.engine import Engine
from mock_server.providers.topview import fixtures, routes, service


class Topview:
    name = service.PROVIDER
    prefix = "/topview"
    hosts = ("api.topview.ai",)
    cloudfront_origins = {service.DISTRIBUTION: service.RESULT_BUCKET}
    account_limits: dict[str, LimitRange] = {}  # no provider limits beyond credits

    def new_account(self, engine: Engine, key: str, secret: str) -> Account:
        return Account(self.name, key, secret)

    def fresh_state(self) -> service.TopviewState:
        return service.TopviewState()

    def seed(self, engine: Engine) -> None:
        fixtures.seed(engine)

    def app(self, engine: Engine) -> ProviderApp:
        return routes.app(engine)
