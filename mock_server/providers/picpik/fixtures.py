"""The docs' demo accounts (K16), the tasks the docs' examples name, and configured accounts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from bgmock.server.checks import check_records, integer, text
from bgmock.server.core.accounts import Account, LimitRange, LimitRecord
from bgmock.server.core.engine import Engine
from bgmock.server.core.plan import TaskPlan
from bgmock.server.core.tasks import Task
from bgmock.server.providers.picpik import images
from bgmock.server.providers.picpik.service import (
    CONCURRENCY,
    COST,
    LIFECYCLE,
    PROVIDER,
    RESULT_BUCKET,
    Result,
    settings,
)

# The signature page's test keys (its published vectors verify against them).
TEST_PUBLIC_KEY, TEST_PRIVATE_KEY = "abcdefg", "123456"
# The key of every docs example; its private key is not public, so its signature checking is
# off and the docs' requests succeed unchanged (K16).
DOCS_PUBLIC_KEY = "ALLak9M4cNdHXKOJAJJ4k8Hh1hZS2EgJF1D0FlPwfl"
DOCS_PRIVATE_KEY = "docs-private-key-not-published"
# Every TaskUID a docs example shows: finished tasks of the docs' key (T31's rule for PICPIK).
DOCS_TASKS = ("ckti5nf2h4keq8mr9n00", "cjr997tleg738lelk3n0", "cktlm6lrh4xxx8ng9nf0")


@dataclass
class PicpikLimits(LimitRecord):
    """A PICPIK key's own switches (D180): ``check_signature`` 1 verifies every request's
    Signature (170/171), 0 accepts any. Points are the account's ``credits`` (K15)."""

    RANGES: ClassVar[Mapping[str, LimitRange]] = {"check_signature": LimitRange(0, 1)}

    check_signature: int = 1


def account(engine: Engine, public_key: str, private_key: str, *, points: int | None = None,
            check_signature: int = 1) -> Account:
    start = settings(engine).points if points is None else points
    return Account(PROVIDER, public_key, private_key, credits=float(start),
                   concurrency=CONCURRENCY, extra=PicpikLimits(check_signature))


def demo_result(seed: str) -> bytes:
    """A docs task's result: the demo photo cut out with the default knobs."""
    from bgmock.server.core import imaging

    limits = imaging.Limits(64 * 1024 * 1024, 36_000_000)
    return images.cut(None, limits, images.Knobs()).png


def seed(engine: Engine) -> None:
    engine.accounts.add(account(engine, TEST_PUBLIC_KEY, TEST_PRIVATE_KEY))
    engine.accounts.add(account(engine, DOCS_PUBLIC_KEY, DOCS_PRIVATE_KEY, check_signature=0))
    for spec in configured(engine.settings.accounts.get(PROVIDER, [])):
        engine.accounts.add(account(engine, spec["public_key"], spec["private_key"],
                                    points=spec.get("points"),
                                    check_signature=spec.get("check_signature", 1)))
    now = engine.clock.now()
    for uid in DOCS_TASKS:
        key = f"results/{uid}.png"
        engine.files.put_lazy(RESULT_BUCKET, key, partial(demo_result, uid), "image/png")
        engine.tasks.add_finished(Task(
            id=uid, provider=PROVIDER, operation="remove_background", owner=DOCS_PUBLIC_KEY,
            lifecycle=LIFECYCLE, plan=TaskPlan(), created_at=now, finished_at=now,
            status=LIFECYCLE.success, payload={}, cost=COST,
            result=Result(key, *images.DEMO_SIZE)))


# Config accounts (D85): keys, points and the signature switch, each checked.
ACCOUNT_FIELDS = {"public_key": text(), "private_key": text(), "points": integer(0, 10**9),
                  "check_signature": integer(0, 1)}


def configured(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The config file's PICPIK accounts, checked, or ``ValueError`` naming the bad field,
    e.g. ``accounts.picpik[0].private_key: required``."""
    return check_records(f"accounts.{PROVIDER}", specs, ACCOUNT_FIELDS,
                         required=("public_key", "private_key"), unique="public_key")
