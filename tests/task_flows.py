"""Async Topview steps for the scheduler, history and reset tests (one event loop runs the
app, its image work and the test, so nothing waits on another thread's loop)."""

from __future__ import annotations

from typing import Any

import httpx
from bgmock.server.core import imaging

from tests.conftest import CREDENTIAL, DEMO, QUERY, SUBMIT

DEMO_UID = DEMO["Topview-Uid"]


def png(size: int = 120) -> bytes:
    return imaging.encode(imaging.synthetic_product(f"flows-{size}", size, size), "png")


async def upload(http: httpx.AsyncClient, data: bytes | None = None) -> str:
    credential = (await http.get(CREDENTIAL, params={"format": "png"}, headers=DEMO)).json()
    put = await http.put(credential["result"]["uploadUrl"], content=data or png())
    assert put.status_code == 200, put.text
    return str(credential["result"]["fileId"])


async def submit(http: httpx.AsyncClient, file_id: str, fault: str | None = None) -> str:
    headers = {**DEMO, **({"X-Mock-Fault": fault} if fault else {})}
    body = (await http.post(SUBMIT, json={"productImageFileId": file_id},
                            headers=headers)).json()
    assert body["code"] == "200", body
    return str(body["result"]["taskId"])


async def query(http: httpx.AsyncClient, task_id: str, cloudfront: bool = False
                ) -> dict[str, Any]:
    params = {"taskId": task_id, "needCloudFrontUrl": "true" if cloudfront else "false"}
    return dict((await http.get(QUERY, params=params, headers=DEMO)).json())


async def advance(http: httpx.AsyncClient, seconds: float) -> dict[str, Any]:
    response = await http.post("/__admin/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    return dict(response.json())
