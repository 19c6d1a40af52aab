"""The same tasks against the real Runware REST API, checked against the contracts. It spends
real credit (a few background removals), so it runs only when ``RUNWARE_API_KEY`` is set;
``RUNWARE_BASE_URL`` may point elsewhere.

    RUNWARE_API_KEY=... .venv/bin/pytest tests/live -m live
"""

from __future__ import annotations

import base64
import io
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bgmock.server.core import imaging
from PIL import Image

from bgmock import contracts

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("RUNWARE_API_KEY"),
                       reason="set RUNWARE_API_KEY to run against the real API"),
]


@pytest.fixture
def live() -> Iterator[httpx.Client]:
    base_url = os.environ.get("RUNWARE_BASE_URL", "https://api.runware.ai")
    headers = {"Authorization": f"Bearer {os.environ['RUNWARE_API_KEY']}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        yield client


def run(live: httpx.Client, *tasks: Any) -> dict[str, Any]:
    body = live.post("/v1", json=list(tasks)).json()
    for item in body.get("data", []):
        operation = {"imageUpload": "image_upload", "removeBackground": "remove_background",
                     "imageBackgroundRemoval": "image_background_removal"}[item["taskType"]]
        contracts.validate("runware", f"{operation}.response", {"data": [item]})
    if "errors" in body:
        contracts.validate("runware", "error.response", {"errors": body["errors"]})
    return body


def test_upload_then_remove_background(live: httpx.Client) -> None:
    png = imaging.encode(imaging.synthetic_product("live", 320, 240), "png")
    image = "data:image/png;base64," + base64.b64encode(png).decode()
    [upload] = run(live, {"taskType": "imageUpload", "taskUUID": str(uuid.uuid4()),
                          "image": image})["data"]
    [item] = run(live, {"taskType": "removeBackground", "taskUUID": str(uuid.uuid4()),
                        "inputImage": upload["imageUUID"], "outputType": "base64Data",
                        "outputFormat": "PNG", "includeCost": True})["data"]
    result = Image.open(io.BytesIO(base64.b64decode(item["imageBase64Data"])))
    assert result.mode == "RGBA" and item["cost"] > 0


def test_errors_have_runwares_object(live: httpx.Client) -> None:
    body = run(live, {"taskType": "removeBackground", "taskUUID": "not-a-uuid",
                      "inputImage": "x"})
    assert body["errors"][0]["code"]
