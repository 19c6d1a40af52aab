"""The providers the mock serves (the registry). Each is a package of its own; none reaches into
another. Each declares itself through :class:`~mock_server.core.provider.Provider`."""

from __future__ import annotations

from mock_server.core.provider import Provider

__all__ = ["Provider", "all_providers"]


def all_providers() -> list[Provider]:
    from mock_server.providers.aidge import Aidge
    from mock_server.providers.topview import Topview

    return [Topview(), Aidge()]
