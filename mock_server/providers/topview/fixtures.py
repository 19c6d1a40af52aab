"""The fresh-mock state the docs' examples rely on (decision T31).

The docs' demo credentials work, and every fileId and taskId their remove-background examples
use exists: the product images as real (synthetic) photos, the finished tasks with their
cut-outs and masks. Bytes are made lazily, on first download, so start-up stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from bgmock.server.checks import check_records, integer, number, text
from bgmock.server.core import imaging
from bgmock.server.core.accounts import Account
from bgmock.server.core.engine import Engine
from bgmock.server.core.plan import TaskPlan
from bgmock.server.core.tasks import Task
from bgmock.server.providers.topview import service
from bgmock.server.providers.topview.service import (
    LIFECYCLE,
    PROVIDER,
    REMOVE_BACKGROUND,
    RESULT_BUCKET,
    UPLOAD_BUCKET,
    RemovedBackground,
    TopviewFile,
)

DEMO_UID = "NsDAaOPF4jLuAie4ewyg"
DEMO_API_KEY = "sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"
SIZE = 720                                  # docs: mask 720 x 720
SUBJECT = (96, 0, 624, 720)                 # docs: cut-out 528 x 720


@dataclass(frozen=True)
class DocsTask:
    task_id: str
    source_id: str
    result: RemovedBackground


# provider-docs/000 (CloudFront example) and 001 (S3 example)
DOCS_TASKS = (
    DocsTask("56eac11a862143989e9cc63f8b213a2d", "5a85c359bff14c95889e4652f1ec467e",
             RemovedBackground("07b3e4088c2c4c7d9d7d62abc9d5f919",
                               "e5ea811a6fb646ba9e0354232e8b97a4",
                               "235c776514fc42f089ab73a5ee92f391",
                               (SUBJECT[2] - SUBJECT[0], SIZE), (SIZE, SIZE))),
    DocsTask("4274b375c30844c8bd0b1e4b6e44fb5f", "dff804f385b84d4fb9c1b51c70f3755f",
             RemovedBackground("a9fb0860ad944371a6a62a24152b9ec5",
                               "670c78f3dca2413f8546e29085c07224",
                               "3d4b09ad5b4646cb8d28f9d7f0ebb50f",
                               (SUBJECT[2] - SUBJECT[0], SIZE), (SIZE, SIZE))),
)
# Further uploaded images the docs' later steps name (templates, a ready cut-out).
DOCS_IMAGES = ("d10d0baf132b43c18893d252dc9a9fe1", "c62216b7e35e4e8598edc29a4041c7b6")
DOCS_CUTOUTS = ("722e4c0ebdc148e295df9fe30c3160bd",)


@cache
def product_png(file_id: str) -> bytes:
    return imaging.encode(imaging.synthetic_product(file_id, SIZE, SIZE, SUBJECT), "png")


@cache
def removed(file_id: str) -> tuple[bytes, bytes]:
    cutout, mask, _ = service.render_cutout(product_png(file_id),
                                            imaging.Limits(1 << 30, 1 << 30))
    return cutout, mask


# Producers are module-level functions (partials of them): they run in imaging workers (D150).
def removed_cutout(file_id: str) -> bytes:
    return removed(file_id)[0]


def removed_mask(file_id: str) -> bytes:
    return removed(file_id)[1]


ACCOUNT_FIELDS = {"uid": text(), "api_key": text(), "credits": number(0, 1e12),
                  "concurrency": integer(0, 10_000)}


def configured_accounts(specs: list[dict[str, Any]]) -> list[Account]:
    """The config file's Topview accounts, or ``ValueError`` naming the bad field, e.g.
    ``accounts.topview[0].api_key: required``."""
    return [Account(PROVIDER, values["uid"], values["api_key"],
                    credits=values.get("credits", 1000.0),
                    concurrency=values.get("concurrency", 8))
            for values in check_records(f"accounts.{PROVIDER}", specs, ACCOUNT_FIELDS,
                                        required=("uid", "api_key"), unique="uid")]


def seed(engine: Engine) -> None:
    engine.accounts.add(Account(PROVIDER, DEMO_UID, DEMO_API_KEY, credits=1000.0,
                                concurrency=8))
    for account in configured_accounts(engine.settings.accounts.get(PROVIDER, [])):
        engine.accounts.add(account)
    files = service.state(engine)  # fixtures: kept for ever (T31, D92)
    for file_id in (*(t.source_id for t in DOCS_TASKS), *DOCS_IMAGES):
        key = f"user_upload/{DEMO_UID}/{file_id}.png"
        engine.files.put_lazy(UPLOAD_BUCKET, key, partial(product_png, file_id), "image/png")
        files.add(engine, TopviewFile(file_id, DEMO_UID, "png", UPLOAD_BUCKET, key), keep=None)
    for docs in DOCS_TASKS:
        _seed_task(engine, docs)
    for cutout_id in DOCS_CUTOUTS:
        key = f"analyzed_video/task/background_removed/{cutout_id}/cropped_image.png"
        engine.files.put_lazy(RESULT_BUCKET, key, partial(removed_cutout, cutout_id),
                              "image/png")
        files.add(engine, TopviewFile(cutout_id, DEMO_UID, "png", RESULT_BUCKET, key),
                  keep=None)


def _seed_task(engine: Engine, docs: DocsTask) -> None:
    cutout_key, mask_key = service.result_paths(docs.result.directory)
    engine.files.put_lazy(RESULT_BUCKET, cutout_key, partial(removed_cutout, docs.source_id),
                          "image/png")
    engine.files.put_lazy(RESULT_BUCKET, mask_key, partial(removed_mask, docs.source_id),
                          "image/png")
    service.register_result(engine, DEMO_UID, docs.result, keep=None)
    now = engine.clock.now()
    engine.tasks.add_finished(Task(
        id=docs.task_id, provider=PROVIDER, operation=REMOVE_BACKGROUND, owner=DEMO_UID,
        lifecycle=LIFECYCLE, plan=TaskPlan(), created_at=now, finished_at=now,
        status=LIFECYCLE.success, payload={"productImageFileId": docs.source_id},
        cost=service.COSTS[REMOVE_BACKGROUND], result=docs.result))
