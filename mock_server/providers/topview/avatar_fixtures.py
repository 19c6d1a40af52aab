"""The product-avatar part of the fresh mock the docs rely on (T31): provider-docs/001's
replace-product-image tasks (manual and auto) with their imageIds, the imageId its image2Video
example submits, and its finished image2Video task with a real video, cover and preview.

Bytes are made on first download (module-level producers with string arguments), from the
docs' template and cut-out fixtures, so start-up stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, partial

from bgmock.server.core import imaging
from bgmock.server.core.engine import Engine
from bgmock.server.core.plan import TaskPlan
from bgmock.server.core.tasks import Task
from bgmock.server.providers.topview import avatars, fixtures, placement, service
from bgmock.server.providers.topview.image_to_video import (
    VIDEO_COSTS,
    VIDEO_LIFECYCLE,
    Rendition,
    VideoFiles,
    render_video,
    video_keys,
)
from bgmock.server.providers.topview.images import ReplacedImage
from bgmock.server.providers.topview.product_avatar import (
    IMAGE2VIDEO,
    REPLACE,
    REPLACE_COST,
    REPLACE_LIFECYCLE,
)
from bgmock.server.providers.topview.service import RESULT_BUCKET

TEMPLATE = "c62216b7e35e4e8598edc29a4041c7b6"     # the docs' templateImageFileId
CUTOUT = "722e4c0ebdc148e295df9fe30c3160bd"       # the docs' productImageWithoutBackgroundFileId
LOCATION: placement.Quad = ((0.31470588235294117, 0.6390728476821192),
                            (0.7489529411764706, 0.6390728476821192),
                            (0.7489529411764706, 0.9724056291390728),
                            (0.31470588235294117, 0.9724056291390728))
AUTO_PROMPT = ("Replace the item in the hand of the person in Picture 1 with the one in Picture "
               "2. Keep the composition position and gesture of the person in Picture 1 "
               "unchanged, and ensure that the features, appearance and details of the item in "
               "Picture 2 remain exactly the same after the change.")
LIMITS = imaging.Limits(1 << 30, 1 << 30)


@dataclass(frozen=True)
class DocsImage:
    image_id: str
    face_existence: bool
    key: str
    mode: str           # manual | auto: how its pixels are made


def _key(directory: str, suffix: str) -> str:
    return f"analyzed_video/task/object_replace_llm/{directory}/{directory}_{suffix}.png"


# provider-docs/001 step 2 (manual: two results; auto: one) and step 3's replaceProductTaskImageId
DOCS_REPLACE = {
    "3179dd887d294ab797fa85eea49fb25f": (
        DocsImage("bd39ae55d7634d2f8a4dd5c688ebb800", True,
                  _key("a42d3557743f445c919b56963dc2e88f", "234"), "manual"),
        DocsImage("1ed9fef518104317baab5645243445eb", False,
                  _key("9ef6c0a06d9f4f33b409495b91564448", "234"), "manual")),
    "53030cca5d8a4119848373746615fa0e": (
        DocsImage("3e8936361cd8444fbcceb6c247eebc58", True,
                  _key("778bff25cef7489b984bc0f90ddd3335", "54"), "auto"),),
}
DOCS_VIDEO_IMAGE = DocsImage("7e66ece3b4384e929fff91da2918e2d6", True,
                             _key("7e66ece3b4384e929fff91da2918e2d6", "0"), "auto")
# provider-docs/001 step 3: the finished image2Video task
DOCS_VIDEO_TASK, DOCS_VIDEO_MODE, DOCS_UID_DIR = "8aa992b4cfd24082a564710cbee2132c", "pro", \
    "lfzUumKIt2w2oWVcUF6e"
DOCS_TASK_IDS = (*DOCS_REPLACE, DOCS_VIDEO_TASK)    # the finished tasks this module adds
DOCS_VIDEO = VideoFiles(
    *video_keys(DOCS_UID_DIR, "c708644f5ece452d8a539fe5da910af9",
                "f283edddf9bd4618a9eb4681e215ab8e", "d76f909997cd48899a198be1fd83bad6",
                "3db5e6b280314e34ad79f4a9d2f0b4a4"),
    aiavatar_id="2c3f371464924c59a19d4ae7d56b58fa",
    aiavatar_name="Product Avatar_250812071343_1", voice_id=avatars.DOCS_VOICE)


@cache
def replaced_png(mode: str, index: int) -> bytes:
    """The docs' composites: their template and cut-out, manual at the docs' location."""
    quad = LOCATION if mode == "manual" else placement.auto_location(AUTO_PROMPT)
    rendered = placement.replace_product(fixtures.product_png(TEMPLATE),
                                         fixtures.removed(CUTOUT)[0], quad, mode == "manual",
                                         LIMITS)
    return rendered[index].png


@cache
def _rendition() -> Rendition:
    return render_video(replaced_png(DOCS_VIDEO_IMAGE.mode, 0), DOCS_VIDEO_MODE, LIMITS)


def video_part(part: str) -> bytes:
    """``video``, ``cover`` or ``preview`` of the docs' finished image2Video task."""
    return bytes(getattr(_rendition(), part))


def seed(engine: Engine) -> None:
    book, now, owner = service.state(engine).images, engine.clock.now(), fixtures.DEMO_UID
    for task_id, images in DOCS_REPLACE.items():
        for index, image in enumerate(images):
            _seed_image(engine, image, index)
        engine.tasks.add_finished(Task(
            id=task_id, provider=service.PROVIDER, operation=REPLACE, owner=owner,
            lifecycle=REPLACE_LIFECYCLE, plan=TaskPlan(), created_at=now, finished_at=now,
            status=REPLACE_LIFECYCLE.success, payload={"generateImageMode": images[0].mode},
            cost=REPLACE_COST,
            result=tuple(book.owned(image.image_id, owner) for image in images)))
    _seed_image(engine, DOCS_VIDEO_IMAGE, 0)
    for key, part, mime in ((DOCS_VIDEO.video_key, "video", "video/mp4"),
                            (DOCS_VIDEO.cover_key, "cover", "image/jpeg"),
                            (DOCS_VIDEO.preview_key, "preview", "video/mp4")):
        engine.files.put_lazy(RESULT_BUCKET, key, partial(video_part, part), mime)
    engine.tasks.add_finished(Task(
        id=DOCS_VIDEO_TASK, provider=service.PROVIDER, operation=IMAGE2VIDEO, owner=owner,
        lifecycle=VIDEO_LIFECYCLE, plan=TaskPlan(), created_at=now, finished_at=now,
        status=VIDEO_LIFECYCLE.success,
        payload={"replaceProductTaskImageId": DOCS_VIDEO_IMAGE.image_id,
                 "mode": DOCS_VIDEO_MODE},
        cost=VIDEO_COSTS[DOCS_VIDEO_MODE], result=DOCS_VIDEO))
    avatars.seed(engine)


def _seed_image(engine: Engine, image: DocsImage, index: int) -> None:
    engine.files.put_lazy(RESULT_BUCKET, image.key, partial(replaced_png, image.mode, index),
                          "image/png")
    service.state(engine).images.add(engine, ReplacedImage(
        image.image_id, fixtures.DEMO_UID, image.face_existence, RESULT_BUCKET, image.key),
        keep=None)
