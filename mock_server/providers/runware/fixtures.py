"""The demo key (R27) with its credits (R26), the docs' input image, and configured keys."""

from __future__ import annotations

from functools import partial
from typing import Any

from bgmock.server.checks import check_records, number, text
from bgmock.server.core import imaging
from bgmock.server.core.accounts import MAX_CONCURRENCY, Account
from bgmock.server.core.engine import Engine
from bgmock.server.providers.runware.images import BUCKET, PROVIDER

DEMO_KEY = "runware-demo-key"
CREDITS = 10.0  # USD every key starts with (R26); the admin API and the config file set others
# The docs' examples name an uploaded image by UUID (printed as "fd613011-..."; bgmock
# completes it, D190): it exists, as a product photo, on a fresh mock.
DOCS_IMAGE = "fd613011-3ba6-4a4c-9d1e-1e6e9b2d5c11"


def docs_image(seed: str) -> bytes:
    """Module level (it runs in an imaging worker, D150)."""
    return imaging.encode(imaging.synthetic_product(seed, 768, 512), "png")


def account(engine: Engine, key: str, credits: float | None = None) -> Account:
    """No queue limit to speak of: Runware queues requests instead of refusing them (R9)."""
    return Account(PROVIDER, key, key, credits=CREDITS if credits is None else credits,
                   concurrency=MAX_CONCURRENCY)


def seed(engine: Engine) -> None:
    engine.accounts.add(account(engine, DEMO_KEY))
    engine.files.put_lazy(BUCKET, DOCS_IMAGE, partial(docs_image, DOCS_IMAGE), "image/png")
    for spec in configured(engine.settings.accounts.get(PROVIDER, [])):
        engine.accounts.add(account(engine, spec["api_key"], spec.get("credits")))


ACCOUNT_FIELDS = {"api_key": text(), "credits": number(0, 1e12)}


def configured(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The config file's Runware keys, checked (``ValueError`` naming the bad field)."""
    return check_records(f"accounts.{PROVIDER}", specs, ACCOUNT_FIELDS,
                         required=("api_key",), unique="api_key")
