"""The docs' request against the real Aidge API. It spends real quota, so it runs only when
``AIDGE_APP_KEY`` and ``AIDGE_APP_SECRET`` are set; ``AIDGE_BASE_URL`` may point elsewhere (e.g.
``https://cn-api.aidc-ai.com``) and ``AIDGE_TRIAL=1`` spends the free trial quota.

    AIDGE_APP_KEY=... AIDGE_APP_SECRET=... .venv/bin/pytest tests/live -m live
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
from bgmock.client.aidge import AidgeClient
from PIL import Image

from bgmock import contracts

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("AIDGE_APP_KEY") and os.environ.get("AIDGE_APP_SECRET")),
        reason="set AIDGE_APP_KEY and AIDGE_APP_SECRET to run against the real API",
    ),
]

DOCS_IMAGE = "https://ae01.alicdn.com/kf/Sa78257f1d9a34dad8ee494178db12ec8l.jpg"


@pytest.fixture(params=["v2", "iop"])
def live(request: pytest.FixtureRequest) -> Iterator[AidgeClient]:
    base_url = os.environ.get("AIDGE_BASE_URL", "https://api.aidc-ai.com")
    trial = os.environ.get("AIDGE_TRIAL", "") in ("1", "true")
    with AidgeClient(
        base_url=base_url, sign_style=request.param, trial=trial, timeout=60
    ) as client:
        yield client


def test_docs_request(live: AidgeClient) -> None:
    result = live.remove_background(
        image_url=DOCS_IMAGE, background="WHITE_BACKGROUND", target_width=800, target_height=1000
    )
    contracts.validate("aidge", "cut_out.response", result.raw)
    assert (result.width, result.height) == (800, 1000)
    image = Image.open(io.BytesIO(live.download(result.image_url)))
    assert image.format == "JPEG" and image.size == (800, 1000)
