"""Where checks are declared: ``@check(provider, operation, name=...)`` on an async function of
a :class:`~bgmock.check.context.Context`; :func:`all_checks` imports each provider's module
(``bgmock.check.providers.<provider>``) and lists what it declared."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from bgmock.check.model import Check

if TYPE_CHECKING:
    from bgmock.check.context import Context

PROVIDERS = ("topview", "aidge", "picpik", "runware")
_CHECKS: dict[str, Check] = {}

Fn = Callable[["Context"], Awaitable[None]]


class DuplicateCheck(ValueError):
    """Two checks declared the same name."""


def check(provider: str, operation: str, *, name: str, cost: int = 0,
          mock_only: bool = False) -> Callable[[Fn], Fn]:
    """Declare ``fn`` as the check ``name``; the function is returned unchanged."""
    if not name.startswith(f"{provider}."):
        raise ValueError(f"check {name!r}: the name starts with its provider ({provider}.)")
    if cost < 0:
        raise ValueError(f"check {name!r}: cost must be >= 0")

    def declare(fn: Fn) -> Fn:
        found = _CHECKS.get(name)
        if found is not None and (found.run.__module__, found.run.__qualname__) != (
                fn.__module__, fn.__qualname__):
            raise DuplicateCheck(f"check {name!r} declared twice")
        _CHECKS[name] = Check(name=name, provider=provider, operation=operation, run=fn,
                              cost=cost, mock_only=mock_only, doc=(fn.__doc__ or "").strip())
        return fn

    return declare


def load(provider: str) -> None:
    """Import ``bgmock.check.providers.<provider>`` (its checks declare themselves); a provider
    without a module has no checks yet."""
    if provider not in PROVIDERS:
        raise KeyError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    module = f"bgmock.check.providers.{provider}"
    if importlib.util.find_spec(module) is not None:
        importlib.import_module(module)


def all_checks(providers: Iterable[str] | None = None) -> list[Check]:
    """Every declared check of ``providers`` (default: all), in provider order, then by
    name."""
    wanted = list(PROVIDERS if providers is None else providers)
    for provider in wanted:
        load(provider)
    order = {p: i for i, p in enumerate(wanted)}
    return sorted((c for c in _CHECKS.values() if c.provider in order),
                  key=lambda c: (order[c.provider], c.name))
