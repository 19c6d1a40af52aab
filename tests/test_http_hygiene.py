"""Plain HTTP manners on every surface: ``405`` names what a path takes (``Allow``), ``HEAD``
works wherever ``GET`` does and never carries a body."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bgmock.server.app import create_app
from bgmock.server.settings import Settings

from tests.aidge_calls import CUT_OUT, DOCS_URL, v2_query
from tests.topview_calls import CREDIT, DEMO, QUERY, SUBMIT, TV, Api

DOCS_TASK = "4274b375c30844c8bd0b1e4b6e44fb5f"   # a docs fixture task (S3 result URLs)


def _allow(value: str | None) -> set[str]:
    return {m.strip() for m in (value or "").split(",") if m.strip()}


@pytest.mark.parametrize("method,path,allowed", [
    ("POST", CREDIT, {"GET", "HEAD"}),
    ("DELETE", QUERY, {"GET", "HEAD"}),
    ("GET", SUBMIT, {"POST"}),
    ("PUT", f"{TV}/openapi.json", {"GET", "HEAD"}),
])
def test_topview_405_keeps_the_envelope_and_names_the_methods(api: Api, method: str, path: str,
                                                              allowed: set[str]) -> None:
    response = api.http.request(method, path, headers=DEMO)
    assert response.status_code == 405
    assert _allow(response.headers.get("allow")) == allowed
    if path != f"{TV}/openapi.json":
        assert response.json() == {"code": "405", "message": "Method Not Allowed",
                                   "result": None}


@pytest.mark.parametrize("method,path,allowed", [
    ("PUT", "/__admin/faults", {"GET", "HEAD", "POST", "DELETE"}),
    ("POST", "/__admin/clock", {"GET", "HEAD"}),
    ("GET", "/__admin/clock/advance", {"POST"}),
    ("POST", "/__admin/accounts/topview/x", {"GET", "HEAD", "PUT"}),
    ("GET", "/__admin/faults/1", {"DELETE"}),
    ("DELETE", "/__admin/health", {"GET", "HEAD"}),
    ("PATCH", "/__admin/journal", {"GET", "HEAD", "DELETE"}),
])
def test_admin_405_names_every_method_of_the_path(api: Api, method: str, path: str,
                                                  allowed: set[str]) -> None:
    response = api.http.request(method, f"{api.controls.base_url}{path}")
    assert response.status_code == 405
    assert _allow(response.headers.get("allow")) == allowed
    assert response.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize("method,path,allowed", [
    ("POST", "/files/s3/topview-upload/user_upload/x/y.png", {"GET", "HEAD", "PUT"}),
    ("DELETE", "/files/s3/aigc/analyzed_video/x.png", {"GET", "HEAD", "PUT"}),
    ("PUT", "/files/cf/dr1coeak04nbk/x.png", {"GET", "HEAD"}),
    ("POST", "/files/oss/nhci-image/x.png", {"GET", "HEAD"}),
])
def test_files_405_is_the_storage_error_with_the_paths_methods(api: Api, method: str, path: str,
                                                               allowed: set[str]) -> None:
    response = api.http.request(method, f"{api.controls.base_url}{path}")
    assert response.status_code == 405
    assert _allow(response.headers.get("allow")) == allowed
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Code>MethodNotAllowed</Code>" in response.text
    assert f"<Method>{method}</Method>" in response.text


def _docs_result_url(api: Api) -> str:
    return api.query(DOCS_TASK)["result"]["bgRemovedImagePath"]


def _get_able(api: Api) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(url, headers, params) of a GET on every surface."""
    ms = int(api.engine.clock.now() * 1000)
    aidge = {**v2_query(ms), "imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT"}
    return [
        (f"{api.controls.base_url}/", {}, {}),
        (f"{api.controls.base_url}/__admin/health", {}, {}),
        (f"{api.controls.base_url}/__admin/clock", {}, {}),
        (f"{api.controls.base_url}/__admin/accounts/topview", {}, {}),
        (f"{api.controls.base_url}/__admin/openapi.json", {}, {}),
        (CREDIT, DEMO, {}),
        (QUERY, DEMO, {"taskId": DOCS_TASK, "needCloudFrontUrl": "false"}),
        (f"{TV}/openapi.json", {}, {}),
        (_docs_result_url(api), {}, {}),
        (f"{api.controls.base_url}/files/s3/nope/missing.png", {}, {}),   # a 404 too
        (CUT_OUT, {}, aidge),
    ]


def test_head_answers_like_get_without_a_body(api: Api) -> None:
    for url, headers, params in _get_able(api):
        got = api.http.get(url, headers=headers, params=params)
        head = api.http.head(url, headers=headers, params=params)
        assert head.status_code == got.status_code, url
        assert head.content == b"", url
        assert head.headers.get("content-type") == got.headers.get("content-type"), url
        if url != CUT_OUT:  # each cut-out has its own ids, so its own length
            assert head.headers.get("content-length") == str(len(got.content)), url
    assert api.controls.journal("aidge")[-1]["code"] == "ok"           # the HEAD cut out
    assert api.http.head(CUT_OUT, params={"x": "1"}).status_code == 200  # D23: gateway answer


def _asgi(app: Any, method: str, path: str, query: bytes = b"",
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request straight through the ASGI app: what it really sends (no client or server
    in between to drop a HEAD body)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": query, "server": ("bgmock.test", 80),
             "client": ("127.0.0.1", 1234),
             "headers": [(b"host", b"bgmock.test"),
                         *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


@pytest.mark.parametrize("path,headers", [
    ("/", {}), ("/__admin/health", {}), ("/__admin/clock", {}), (CREDIT, DEMO),
    (f"{TV}/openapi.json", {}), ("/files/s3/nope/missing.png", {}),
])
def test_the_app_itself_sends_no_body_for_head(path: str, headers: dict[str, str]) -> None:
    app = create_app(Settings(clock="virtual"))
    status, got_headers, body = _asgi(app, "GET", path, headers=headers)
    head_status, head_headers, head_body = _asgi(app, "HEAD", path, headers=headers)
    assert (head_status, head_body) == (status, b"")
    assert head_headers["content-length"] == got_headers["content-length"] == str(len(body))
