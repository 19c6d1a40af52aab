"""The providers the mock serves (the registry). Each is a package of its own; none reaches into
another. Each declares itself through :class:`~bgmock.server.core.provider.Provider`, and its own
settings (if any) here, in :data:`SETTINGS` (D87)."""

from __future__ import annotations

from bgmock.server.core.provider import Provider
from bgmock.server.providers.aidge.settings import AidgeSettings

__all__ = ["SETTINGS", "Provider", "all_providers"]

# Provider name -> its settings record (a frozen dataclass; every field has a default). Light
# modules only: bgmock.server.settings reads this before the providers themselves are imported.
SETTINGS: dict[str, type] = {"aidge": AidgeSettings}


def all_providers() -> list[Provider]:
    from bgmock.server.providers.aidge.provider import Aidge
    from bgmock.server.providers.topview.provider import Topview

    found: list[Provider] = [Topview(), Aidge()]
    from bgmock.server.providers.runware.provider import Runware
    found.append(Runware())
    return found
