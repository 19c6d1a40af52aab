"""The providers the mock serves. Each is a package of its own; none reaches into another."""

from __future__ import annotations

from typing import Any


def all_providers() -> list[Any]:
    from mock_server.providers.aidge import Aidge
    from mock_server.providers.topview import Topview

    return [Topview(), Aidge()]
