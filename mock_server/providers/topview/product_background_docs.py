"""The docs' finished product-background tasks on a fresh mock (T31): provider-docs/000's
image-mode and prompt-mode tasks, their results made lazily from the docs' own cut-out and
template image (the same composite a new task of those inputs would give)."""

from __future__ import annotations

import json
from functools import cache, partial

from bgmock.server.core import compose, imaging
from bgmock.server.core.engine import Engine
from bgmock.server.core.plan import TaskPlan
from bgmock.server.core.tasks import Task
from bgmock.server.providers.topview import fixtures, product_background
from bgmock.server.providers.topview.product_background import PRODUCT_BACKGROUND, Background
from bgmock.server.providers.topview.service import LIFECYCLE, PROVIDER, RESULT_BUCKET

from bgmock import contracts

CUTOUT_SOURCE = "5a85c359bff14c95889e4652f1ec467e"      # its cut-out is e5ea811a...
TEMPLATE = "d10d0baf132b43c18893d252dc9a9fe1"
LOCATION: compose.Quad = ((0.25666666666666665, 0.16666666666666666),
                          (0.7418533333333334, 0.16666666666666666),
                          (0.7418533333333334, 0.8333333333333334),
                          (0.25666666666666665, 0.8333333333333334))
# task id, result directory, mode (provider-docs/000 steps 3-4)
DOCS_TASKS = (("b850ba027ce74821a99ba1f6d30b58d6", "d04746107e844019834417b6526709a7", "image"),
              ("acba8bb8b0dc4358945b3f05e75c3723", "d6167d97befc4333bc8bf87269616005", "prompt"))
LIMITS = imaging.Limits(1 << 30, 1 << 30)


def docs_prompt() -> str:
    """The docs' prompt-mode prompt, verbatim (kept once, in the contract's example)."""
    examples = contracts.load(PROVIDER, "product_background_submit.request")["examples"]
    return str(next(e["prompt"] for e in examples if e["mode"] == "prompt"))


@cache
def composite(mode: str) -> bytes:
    template = fixtures.product_png(TEMPLATE) if mode == "image" else None
    return product_background.render(fixtures.removed(CUTOUT_SOURCE)[0], template,
                                     f"prompt:{docs_prompt()}", compose.canvas_size("1:1"),
                                     LOCATION, LIMITS)


def seed(engine: Engine) -> None:
    now = engine.clock.now()
    for task_id, directory, mode in DOCS_TASKS:
        result = Background(directory, engine.ids.hex("topview.file"),
                            compose.canvas_size("1:1"))
        engine.files.put_lazy(RESULT_BUCKET, product_background.result_key(directory),
                              partial(composite, mode), "image/png")
        product_background.register(engine, fixtures.DEMO_UID, result, keep=None)
        payload = {"mode": mode, "productImageWithoutBackgroundFileId":
                   "e5ea811a6fb646ba9e0354232e8b97a4", "aspectRatio": "1:1",
                   "location": json.loads(json.dumps(LOCATION))}
        engine.tasks.add_finished(Task(
            id=task_id, provider=PROVIDER, operation=PRODUCT_BACKGROUND,
            owner=fixtures.DEMO_UID, lifecycle=LIFECYCLE, plan=TaskPlan(), created_at=now,
            finished_at=now, status=LIFECYCLE.success, payload=payload,
            cost=product_background.COST, result=result))
