"""One small background removal and its query against the real PICPIK API. It spends real
points, so it runs only when ``PICPIK_PUBLIC_KEY`` and ``PICPIK_PRIVATE_KEY`` are set;
``PICPIK_BASE_URL`` may point elsewhere (e.g. ``https://api.picpikai.com``).

    PICPIK_PUBLIC_KEY=... PICPIK_PRIVATE_KEY=... .venv/bin/pytest tests/live -m live
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
from bgmock.client.picpik import PicpikClient
from bgmock.server.core import imaging
from PIL import Image

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("PICPIK_PUBLIC_KEY") and os.environ.get("PICPIK_PRIVATE_KEY")),
        reason="set PICPIK_PUBLIC_KEY and PICPIK_PRIVATE_KEY to run against the real API",
    ),
]


@pytest.fixture
def live() -> Iterator[PicpikClient]:
    base_url = os.environ.get("PICPIK_BASE_URL", "https://api.picpik.ai")
    with PicpikClient(base_url=base_url, timeout=60) as client:
        yield client


def test_one_small_removal_and_its_query(live: PicpikClient) -> None:
    photo = imaging.encode(imaging.synthetic_product("live", 320, 320), "jpeg")
    uid = live.remove_background(photo, box=(40, 20, 280, 300))
    (queued,) = live.tasks([uid])  # every answer is checked against the contracts
    assert queued.task_uid == uid and queued.status in ("Queuing", "Running", "Finished")
    task = live.wait(uid, timeout=300, interval=2)
    assert task.status == "Finished" and task.img_list
    image = Image.open(io.BytesIO(live.download(task.img_list[0])))
    assert image.size[0] > 0 and image.size[1] > 0
