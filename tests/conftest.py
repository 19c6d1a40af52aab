"""Shared fixtures: the same behaviour checks run in-process and over a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import contracts
from mock_server.testing import InProcessMock, MockControls, MockServer

DEMO_UID = "NsDAaOPF4jLuAie4ewyg"
DEMO_KEY = "sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"
DEMO = {"Topview-Uid": DEMO_UID, "Authorization": f"Bearer {DEMO_KEY}"}
TV = "/topview"
SUBMIT = f"{TV}/v1/common_task/remove_background/submit"
QUERY = f"{TV}/v1/common_task/remove_background/query"
CREDENTIAL = f"{TV}/v1/upload/credential"
CHECK = f"{TV}/v1/upload/check"
CREDIT = f"{TV}/user/credit/detail"


def topview_body(operation: str, response: httpx.Response) -> dict[str, Any]:
    """The JSON body, checked against its contract (success or error envelope)."""
    body = response.json()
    name = f"{operation}.response" if body.get("code") == "200" else "error.response"
    contracts.validate("topview", name, body)
    return body


@dataclass
class Api:
    """One way of reaching the mock: an httpx client rooted at the mock, plus admin controls."""

    mode: str
    http: httpx.Client
    controls: MockControls
    engine: Any

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **{"headers": DEMO, **kw})

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **{"headers": DEMO, **kw})

    def upload(self, data: bytes, fmt: str = "png") -> str:
        credential = topview_body("upload_credential", self.get(CREDENTIAL, params={"format": fmt}))
        put = self.http.put(credential["result"]["uploadUrl"], content=data)
        assert put.status_code == 200, put.text
        return credential["result"]["fileId"]

    def submit(self, file_id: str, fault: str | None = None) -> str:
        headers = {**DEMO, **({"X-Mock-Fault": fault} if fault else {})}
        body = topview_body("remove_background_submit",
                            self.http.post(SUBMIT, json={"productImageFileId": file_id},
                                           headers=headers))
        assert body["code"] == "200", body
        return body["result"]["taskId"]

    def query(self, task_id: str, cloudfront: bool = False) -> dict[str, Any]:
        params = {"taskId": task_id, "needCloudFrontUrl": "true" if cloudfront else "false"}
        return topview_body("remove_background_query", self.get(QUERY, params=params))


@pytest.fixture(params=["inprocess", "server"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    if request.param == "inprocess":
        mock = InProcessMock()
        with mock.client() as http:
            yield Api("inprocess", http, mock, mock.engine)
        mock.close()
    else:
        server: MockServer = request.getfixturevalue("bgmock_server")  # reset per test
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            yield Api("server", http, server, server.engine)


@pytest.fixture
def mock() -> Iterator[InProcessMock]:
    """In-process only, for checks that need no socket."""
    m = InProcessMock()
    try:
        yield m
    finally:
        m.close()


@pytest.fixture
def http(mock: InProcessMock) -> Iterator[httpx.Client]:
    with mock.client() as client:
        yield client
