"""Hypothesis throws task arrays at Runware's REST endpoint and socket: every task gets Runware's
own answer (a data item or an error object, checked against the contracts), never a 5xx, and
the socket stays open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.runware_calls import DEMO_KEY, DOCS_IMAGE, check, new_uuid

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
TASK_TYPES = ["authentication", "ping", "imageUpload", "imageBackgroundRemoval",
              "removeBackground", "getResponse", "nope"]
SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) \
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20) \
    | st.sampled_from([DOCS_IMAGE, DEMO_KEY, "URL", "base64Data", "dataURI", "PNG", "jpg",
                       "WEBP", "async", "sync", "runware:109@1", "runware:110@1",
                       "https://example.com/p.png", "data:image/png;base64,AAAA", "aGVsbG8=",
                       "00000000-0000-4000-8000-000000000000"])
VALUES = SCALARS | st.lists(SCALARS, max_size=5) \
    | st.dictionaries(st.sampled_from(["rgba", "alphaMatting", "returnOnlyMask",
                                       "alphaMattingErodeSize", "x"]), SCALARS, max_size=3)
FIELDS = st.sampled_from(["taskUUID", "inputImage", "image", "apiKey", "outputType",
                          "outputFormat", "outputQuality", "includeCost", "rgba", "settings",
                          "model", "deliveryMethod", "ttl", "alphaMattingErodeSize",
                          "returnOnlyMask", "alphaMatting", "ping", "webhookURL",
                          "connectionSessionUUID"]) | st.text(max_size=8)


@st.composite
def tasks(draw: st.DrawFn) -> Any:
    task = draw(st.dictionaries(FIELDS, VALUES, max_size=6))
    if draw(st.booleans()):
        task["taskType"] = draw(st.sampled_from(TASK_TYPES) | SCALARS)
    if draw(st.booleans()):
        task["taskUUID"] = new_uuid()
    return task


ARRAYS = st.lists(tasks() | SCALARS, min_size=0, max_size=4) | tasks() | SCALARS


@pytest.fixture(scope="module")
def fuzz_mock() -> Iterator[InProcessMock]:
    mock = InProcessMock(Settings(clock="virtual"))
    yield mock
    mock.close()


def _answered(status: int, body: Any, count: int | None) -> None:
    assert status < 500, body
    check(body)
    if count is not None:  # one answer per task, except a REST authentication task
        answered = len(body.get("data", [])) + len(body.get("errors", []))
        assert answered <= count


@given(body=ARRAYS)
@FUZZ
def test_task_arrays_over_rest(fuzz_mock: InProcessMock, body: Any) -> None:
    with fuzz_mock.client() as http:
        response = http.post("/runware/v1", json=body,
                             headers={"Authorization": f"Bearer {DEMO_KEY}"})
    _answered(response.status_code, response.json(),
              len(body) if isinstance(body, list) and body else None)


@given(raw=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
@FUZZ
def test_bodies_that_are_not_json(fuzz_mock: InProcessMock, raw: bytes) -> None:
    with fuzz_mock.client() as http:
        response = http.post("/runware/v1", content=raw,
                             headers={"Authorization": f"Bearer {DEMO_KEY}"})
    _answered(response.status_code, response.json(), None)


def test_frames_over_a_socket_never_close_it() -> None:
    mock = InProcessMock(Settings(clock="virtual"))
    try:
        with TestClient(mock.app) as client, client.websocket_connect("/runware/v1") as ws:
            ws.send_text(json.dumps([{"taskType": "authentication", "apiKey": DEMO_KEY}]))
            check(json.loads(ws.receive_text()))

            @given(body=ARRAYS)
            @settings(max_examples=60, deadline=None)
            def frames(body: Any) -> None:
                ws.send_text(json.dumps(body))
                answer = json.loads(ws.receive_text())
                check(answer)

            frames()
            ws.send_text("not json")
            assert json.loads(ws.receive_text())["errors"][0]["code"] == "invalidPayload"
            ws.send_text(json.dumps([{"taskType": "ping", "ping": True}]))
            assert json.loads(ws.receive_text()) == {"data": [{"taskType": "ping",
                                                               "pong": True}]}
    finally:
        mock.close()
