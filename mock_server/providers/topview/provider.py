"""Topview as the mock serves it: what it declares to the engine (D88)."""

from __future__ import annotations

from bgmock.server.core.endpoints import ProviderApp
from bgmock.server.core.engine import Engine
from bgmock.server.core.provider import ProviderBase
from bgmock.server.providers.topview import (
    avatar_fixtures,
    fixtures,
    lookups,
    product_background_docs,
    routes,
    service,
)


class Topview(ProviderBase):
    name = service.PROVIDER
    prefix = "/topview"
    hosts = ("api.topview.ai",)
    cloudfront_origins = {service.DISTRIBUTION: service.RESULT_BUCKET}
    # limits: none beyond credits and concurrency (ProviderBase's NoLimits)

    def fresh_state(self) -> service.TopviewState:
        return service.TopviewState()

    def seed(self, engine: Engine) -> None:
        fixtures.seed(engine)
        avatar_fixtures.seed(engine)  # replace / image2Video / avatar lookups (T31)
        product_background_docs.seed(engine)
        lookups.seed(engine)

    def app(self, engine: Engine) -> ProviderApp:
        return routes.app(engine)
