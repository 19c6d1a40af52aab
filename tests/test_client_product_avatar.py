"""The Topview client's product-avatar calls (``replace_product_image``, ``image_to_video``,
``public_avatars``, ``avatar_categories``, ``wait(kind=...)``), sync and async, against the mock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bgmock.client.topview import AsyncTopviewClient, TopviewClient, TopviewError
from bgmock.server.core import imaging
from bgmock.server.providers.topview.fixtures import DEMO_API_KEY, DEMO_UID
from bgmock.server.testing import InProcessMock

from tests.test_product_avatar import probe_mp4

VOICE = "zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t"
DOCS_TEMPLATE, DOCS_CUTOUT = "c62216b7e35e4e8598edc29a4041c7b6", "722e4c0ebdc148e295df9fe30c3160bd"
DOCS_IMAGE = "7e66ece3b4384e929fff91da2918e2d6"
DOCS_REPLACE_TASK = "3179dd887d294ab797fa85eea49fb25f"
DOCS_VIDEO_TASK = "8aa992b4cfd24082a564710cbee2132c"
PRODUCT = imaging.encode(imaging.synthetic_product("client-avatar", 300, 400), "png")
LOCATION = ((0.3, 0.5), (0.7, 0.5), (0.7, 0.9), (0.3, 0.9))


def exercise_product_avatar(topview: TopviewClient) -> None:
    """Each product-avatar operation once, on the docs' ids, API calls only (no downloads):
    a flow test that checks every operation's answer against its contract calls this."""
    assert topview.public_avatars(page_size=1)["data"]
    assert topview.avatar_categories()
    assert topview.replace_product_image(DOCS_CUTOUT, template_image_file_id=DOCS_TEMPLATE,
                                         location=LOCATION)
    assert len(topview.query_replace_product_image(DOCS_REPLACE_TASK)["replaceProductResult"]) == 2
    assert topview.image_to_video(DOCS_IMAGE, mode="lite", tts_text="hi", voice_id=VOICE)
    assert topview.query_image_to_video(DOCS_VIDEO_TASK)["finishedVideoUrl"]


async def exercise_product_avatar_async(topview: AsyncTopviewClient) -> None:
    assert (await topview.public_avatars(page_size=1))["data"]
    assert await topview.avatar_categories()
    assert await topview.replace_product_image(DOCS_CUTOUT, mode="auto",
                                               template_image_file_id=DOCS_TEMPLATE)
    replaced = await topview.query_replace_product_image(DOCS_REPLACE_TASK)
    assert len(replaced["replaceProductResult"]) == 2
    assert await topview.image_to_video(DOCS_IMAGE, mode="lite", tts_text="hi", voice_id=VOICE)
    assert (await topview.query_image_to_video(DOCS_VIDEO_TASK))["finishedVideoUrl"]


def test_the_chain_with_the_client(bgmock: InProcessMock) -> None:
    sleep: Any = bgmock.advance  # every pause moves the virtual clock that far
    with TopviewClient(DEMO_UID, DEMO_API_KEY, bgmock.url("topview"),
                       transport=bgmock.transport) as topview:
        cutout = topview.remove_background_and_wait(topview.upload(PRODUCT), sleep=sleep)
        avatar = topview.public_avatars(gender="female", category_ids=["1", "2"], page_size=1)
        task_id = topview.replace_product_image(cutout["bgRemovedImageFileId"], mode="auto",
                                                avatar_id=avatar["data"][0]["avatarId"])
        done = topview.wait(task_id, kind="replace_product_image", sleep=sleep)
        (image,) = done["replaceProductResult"]
        task_id = topview.image_to_video(image["imageId"], mode="lite", tts_text="hi",
                                         voice_id=VOICE)
        video = topview.wait(task_id, kind="image_to_video", sleep=sleep)
        codec, width, height, frames = probe_mp4(topview.download(video["finishedVideoUrl"]))
        assert (codec, width, height) == ("h264", 480, 854) and frames > 1
        with pytest.raises(TopviewError) as refused:
            topview.image_to_video(image["imageId"], tts_text="hi", voice_id="nobody")
        assert refused.value.code == "4004"
        with pytest.raises(ValueError, match="kind"):
            topview.wait(task_id, kind="nothing", sleep=sleep)
        with pytest.raises(ValueError, match="avatar_id"):
            topview.replace_product_image(image["imageId"], location=LOCATION)


def test_the_async_client() -> None:
    mock = InProcessMock()

    async def flow() -> None:
        admin = mock.async_client()

        async def sleep(seconds: float) -> None:
            (await admin.post("/__admin/clock/advance", json={"seconds": seconds})
             ).raise_for_status()

        async with AsyncTopviewClient(DEMO_UID, DEMO_API_KEY, mock.url("topview"),
                                      transport=mock.async_transport) as topview:
            await exercise_product_avatar_async(topview)
            task_id = await topview.replace_product_image(
                DOCS_CUTOUT, template_image_file_id=DOCS_TEMPLATE, location=LOCATION)
            done = await topview.wait(task_id, kind="replace_product_image", sleep=sleep)
            assert [r["faceExistence"] for r in done["replaceProductResult"]] == [True, False]
        await admin.aclose()

    try:
        asyncio.run(flow())
    finally:
        mock.close()
