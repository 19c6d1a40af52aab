"""The demo account of the official samples (decision A15), plus configured accounts."""

from __future__ import annotations

from typing import Any

from mock_server.core.accounts import Account
from mock_server.core.engine import Engine
from mock_server.providers.aidge.service import PROVIDER

DEMO_APP_KEY = "512345"
DEMO_SECRET = "S4etzZ73nF08vOXVhk3wZjIaLSHw0123"
LIMITS = {"trial_quota": 100, "quota": 1000, "qps": 10, "burst": 50}   # A5, A7, A21


def account(app_key: str, secret: str, **limits: Any) -> Account:
    extra = {name: int(limits.get(name, default)) for name, default in LIMITS.items()}
    return Account(PROVIDER, app_key, secret, credits=0.0, concurrency=0, extra=extra)


def seed(engine: Engine) -> None:
    engine.accounts.add(account(DEMO_APP_KEY, DEMO_SECRET))
    for spec in engine.settings.accounts.get(PROVIDER, []):
        limits = {k: v for k, v in spec.items() if k in LIMITS}
        engine.accounts.add(account(str(spec["app_key"]), str(spec["secret"]), **limits))
