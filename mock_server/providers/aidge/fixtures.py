"""The demo account of the official samples (decision A15), plus configured accounts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from bgmock.server.checks import check_records, integer, text
from bgmock.server.core.accounts import Account, LimitRange, LimitRecord
from bgmock.server.core.engine import Engine
from bgmock.server.providers.aidge.service import PROVIDER

DEMO_APP_KEY = "512345"
DEMO_SECRET = "S4etzZ73nF08vOXVhk3wZjIaLSHw0123"


@dataclass
class AidgeLimits(LimitRecord):
    """An Aidge account's quotas and rate limits (A5, A7, A21); null turns a rate limit off."""

    RANGES: ClassVar[Mapping[str, LimitRange]] = {
        "trial_quota": LimitRange(0, 10**9), "quota": LimitRange(0, 10**9),
        "qps": LimitRange(1, 10**9, nullable=True), "burst": LimitRange(1, 10**9, nullable=True)}

    trial_quota: int = 100
    quota: int = 1000
    qps: int | None = 10
    burst: int | None = 50


def account(app_key: str, secret: str, *, rates_on: bool = True, **limits: Any) -> Account:
    """``rates_on=False`` (the virtual clock, D64): ``qps``/``burst`` not given are off (None)."""
    extra = AidgeLimits() if rates_on else AidgeLimits(qps=None, burst=None)
    extra.update(limits)
    return Account(PROVIDER, app_key, secret, credits=0.0, concurrency=0, extra=extra)


def seed(engine: Engine) -> None:
    rates_on = engine.settings.clock == "real"  # D64: a test meets a limit only if it asks
    engine.accounts.add(account(DEMO_APP_KEY, DEMO_SECRET, rates_on=rates_on))
    for spec in configured(engine.settings.accounts.get(PROVIDER, [])):
        engine.accounts.add(account(spec.pop("app_key"), spec.pop("secret"),
                                    rates_on=rates_on, **spec))


# Config accounts: each limit a whole number in the range its record declares (D85).
ACCOUNT_FIELDS = {"app_key": text(), "secret": text(),
                  **{name: integer(limit.low, limit.high)
                     for name, limit in AidgeLimits.RANGES.items()}}


def configured(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The config file's Aidge accounts, checked, or ``ValueError`` naming the bad field,
    e.g. ``accounts.aidge[0].secret: required``."""
    return check_records(f"accounts.{PROVIDER}", specs, ACCOUNT_FIELDS,
                         required=("app_key", "secret"), unique="app_key")
