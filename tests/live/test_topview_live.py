"""The same client flow against the real Topview API. It spends real credits, so it runs only
when ``TOPVIEW_UID`` and ``TOPVIEW_API_KEY`` are set; ``TOPVIEW_BASE_URL`` may point elsewhere.

    TOPVIEW_UID=... TOPVIEW_API_KEY=... .venv/bin/pytest tests/live -m live
"""

from __future__ import annotations

import os

import pytest
from bgmock.client.topview import TopviewClient
from bgmock.server.core import imaging

from bgmock import contracts

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not (os.environ.get("TOPVIEW_UID") and os.environ.get("TOPVIEW_API_KEY")),
                       reason="set TOPVIEW_UID and TOPVIEW_API_KEY to run against the real API"),
]


@pytest.fixture
def live() -> TopviewClient:
    base_url = os.environ.get("TOPVIEW_BASE_URL", "https://api.topview.ai")
    with TopviewClient(base_url=base_url, timeout=60) as client:
        yield client


def test_credit_detail_matches_the_contract(live: TopviewClient) -> None:
    assert live.credit() >= 0


def test_upload_and_remove_background(live: TopviewClient) -> None:
    photo = imaging.encode(imaging.synthetic_product("live", 720, 720), "png")
    file_id = live.upload(photo, format="png")
    task_id = live.remove_background(file_id)
    result = live.wait(task_id, timeout=300, interval=3)
    body = {"code": "200", "message": "Success", "result": result}
    contracts.validate("topview", "remove_background_query.response", body)
    assert result["status"] == "success"
    assert live.download(result["bgRemovedImagePath"]).startswith(b"\x89PNG")
