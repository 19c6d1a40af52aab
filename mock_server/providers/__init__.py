"""The providers the mock serves (the registry). Each is a package of its own; none reaches into
another. Each declares itself through :class:`~bgmock.server.core.provider.Provider`, and its own
settings (if any) here, in :data:`SETTINGS` (D87)."""

from __future__ import annotations

from bgmock.server.core.provider import Provider
from bgmock.server.providers.aidge.settings import AidgeSettings
from bgmock.server.providers.picpik.settings import PicpikSettings

__all__ = ["SETTINGS", "Provider", "all_providers"]

# Provider name -> its settings record (a frozen dataclass; every field has a default). Light
# modules only: bgmock.server.settings reads this before the providers themselves are imported.
SETTINGS: dict[str, type] = {"aidge": AidgeSettings}
SETTINGS["picpik"] = PicpikSettings


def all_providers() -> list[Provider]:
    from bgmock.server.providers.aidge.provider import Aidge
    from bgmock.server.providers.picpik.provider import Picpik
    from bgmock.server.providers.runware.provider import Runware
    from bgmock.server.providers.topview.provider import Topview

    return [Topview(), Aidge(), Picpik(), Runware()]
