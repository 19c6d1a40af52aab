"""The providers the mock serves (the registry). Each is a package of its own; none reaches into
another. Each declares itself through :class:`~mock_server.core.provider.Provider`, and its own
settings (if any) here, in :data:`SETTINGS` (D87)."""

from __future__ import annotations

from mock_server.core.provider import Provider
from mock_server.providers.aidge.settings import AidgeSettings

__all__ = ["SETTINGS", "Provider", "all_providers"]

# Provider name -> its settings record (a frozen dataclass; every field has a default). Light
# modules only: mock_server.settings reads this before the providers themselves are imported.
SETTINGS: dict[str, type] = {"aidge": AidgeSettings}


def all_providers() -> list[Provider]:
    from mock_server.providers.aidge.provider import Aidge
    from mock_server.providers.topview.provider import Topview

    return [Topview(), Aidge()]
