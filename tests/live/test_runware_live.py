"""The client's flows against the real Runware REST API. Each background removal costs about
0.0006 USD, so it runs only when ``RUNWARE_API_KEY`` is set; ``RUNWARE_BASE_URL`` (the API's
root, ``/v1`` is added, as in ``test_runware_rest_live.py``) may point elsewhere: a running
``bgmock serve`` is ``http://127.0.0.1:8080/runware``, with ``RUNWARE_API_KEY=runware-demo-key``.

    RUNWARE_API_KEY=... .venv/bin/pytest tests/live -m live

Every answer is checked against bgmock's contracts (the client's ``strict`` mode), so a change
in Runware's answers shows up here as ``unexpectedAnswer``.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator

import pytest
from bgmock.client.runware import DEFAULT_BASE_URL, RunwareClient, RunwareError
from PIL import Image

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("RUNWARE_API_KEY"),
                       reason="set RUNWARE_API_KEY to run against the real API"),
]


def product_png() -> bytes:
    """A 256x256 product shot: a dark square on a light, even background."""
    image = Image.new("RGB", (256, 256), (235, 235, 235))
    image.paste((40, 60, 150), (64, 64, 192, 192))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def live() -> Iterator[RunwareClient]:
    root = os.environ.get("RUNWARE_BASE_URL")
    base_url = f"{root.rstrip('/')}/v1" if root else DEFAULT_BASE_URL
    with RunwareClient(base_url=base_url, timeout=120) as client:
        yield client


def test_upload_remove_background_and_download(live: RunwareClient) -> None:
    image_uuid = live.upload(product_png())
    result = live.remove_background(image_uuid, output_format="PNG", include_cost=True)
    assert result.image_uuid and result.image_url and result.cost is not None
    image = Image.open(io.BytesIO(live.download(result.image_url)))
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.getchannel("A").getextrema()[0] == 0  # the background is transparent


def test_inline_output_and_get_response(live: RunwareClient) -> None:
    result = live.remove_background(product_png(), output_type="base64Data",
                                    output_format="WEBP")
    data = result.image_bytes()
    assert data is not None and Image.open(io.BytesIO(data)).format == "WEBP"
    again = live.get_response(result.task_uuid)
    assert again.finished and again.task_uuid == result.task_uuid


def test_async_delivery(live: RunwareClient) -> None:
    accepted = live.remove_background(product_png(), delivery="async")
    assert accepted.image_uuid is None
    result = live.wait(accepted.task_uuid, timeout=120)
    assert result.finished and result.image_url


def test_errors_carry_runwares_codes(live: RunwareClient) -> None:
    with pytest.raises(RunwareError) as caught:
        live.remove_background(str(uuid.uuid4()))  # no such image
    assert caught.value.code and caught.value.status and caught.value.status >= 400
    with pytest.raises(RunwareError) as caught:
        live.remove_background(product_png(), task_uuid="not-a-uuid")
    assert caught.value.code and caught.value.status == 400
    with RunwareClient("not-a-real-key", live.base_url) as stranger, \
            pytest.raises(RunwareError) as caught:
        stranger.upload(product_png())
    assert caught.value.code == "invalidApiKey" and caught.value.status == 401
