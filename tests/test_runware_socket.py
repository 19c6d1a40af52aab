"""Runware's WebSocket rules (R2-R4, R20; D200-D206), in-process (Starlette's test client) and
over the wire: authentication first, ``ping`` before it, results by ``taskUUID`` in list
frames, the socket kept after ``invalidApiKey`` and after bad frames, idle close after 120 s of
mock time, resume with ``connectionSessionUUID``, 30 MiB frames; hypothesis over frames; and
REST and WebSocket answering the same tasks identically."""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bgmock.server.app import create_app
from bgmock.server.settings import Settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.sync.client import connect

from bgmock import contracts
from tests.harness import served

KEY = "runware-demo-key"
AUTH = [{"taskType": "authentication", "apiKey": KEY}]
MiB = 1024 * 1024
SETTINGS = Settings(clock="virtual", seed=7)


def new_uuid() -> str:
    return str(uuid.uuid4())


def png_data_uri(size: tuple[int, int] = (48, 40)) -> str:
    image = Image.new("RGB", size, (240, 240, 240))
    image.paste((20, 60, 200), (12, 10, 36, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS)) as test_client:
        yield test_client


def authenticate(ws: Any, session: str | None = None) -> dict[str, Any]:
    ws.send_json([{**AUTH[0], "connectionSessionUUID": session}] if session else AUTH)
    frame = ws.receive_json()
    assert list(frame) == ["data"], frame
    return dict(frame["data"][0])


def closed_with(ws: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as caught:
        ws.receive_json()
    return caught.value.code


def advance(client: TestClient, seconds: float) -> None:
    assert client.post("/__admin/clock/advance", json={"seconds": seconds}).status_code == 200


def removal(task_uuid: str, image: str, **fields: Any) -> dict[str, Any]:
    return {"taskType": "imageBackgroundRemoval", "taskUUID": task_uuid, "inputImage": image,
            **fields}


def test_tasks_before_authentication_get_missing_api_key_and_the_socket_stays(
        client: TestClient) -> None:
    task = new_uuid()
    with client.websocket_connect("/runware/v1") as ws:
        ws.send_json([removal(task, png_data_uri())])
        frame = ws.receive_json()
        assert list(frame) == ["errors"] and isinstance(frame["errors"], list)
        error = frame["errors"][0]
        assert error["code"] == "missingApiKey"
        assert error["taskUUID"] == task and error["taskType"] == "imageBackgroundRemoval"
        auth = authenticate(ws)
        assert auth["taskType"] == "authentication"
        assert uuid.UUID(auth["connectionSessionUUID"]).version == 4


def test_ping_is_answered_before_authentication_completes(client: TestClient) -> None:
    with client.websocket_connect("/runware/v1") as ws:
        ws.send_json([{"taskType": "ping", "ping": True}])
        assert ws.receive_json() == {"data": [{"taskType": "ping", "pong": True}]}
        ws.send_json(AUTH)  # the SDK's order: auth, then pings at once, before the answer
        ws.send_json([{"taskType": "ping", "ping": True}])
        frames = [ws.receive_json(), ws.receive_json()]
    assert {"data": [{"taskType": "ping", "pong": True}]} in frames
    assert any("connectionSessionUUID" in f.get("data", [{}])[0] for f in frames)


def test_an_invalid_key_keeps_the_socket_open(client: TestClient) -> None:
    with client.websocket_connect("/runware/v1") as ws:
        ws.send_json([{"taskType": "authentication", "apiKey": "wrong"}])
        error = ws.receive_json()["errors"][0]
        assert error["code"] == "invalidApiKey" and error["taskType"] == "authentication"
        assert error["message"].startswith("Invalid API key")
        ws.send_json([{"taskType": "authentication", "apiKey": "wrong"}])  # the SDK retries
        assert ws.receive_json()["errors"][0]["code"] == "invalidApiKey"
        authenticate(ws)
        ws.send_json([{"taskType": "ping", "ping": True}])
        assert ws.receive_json()["data"][0]["pong"] is True


def test_results_come_by_task_uuid_in_lists_and_tasks_run_independently(
        client: TestClient) -> None:
    good, bad = new_uuid(), new_uuid()
    with client.websocket_connect("/runware/v1") as ws:
        authenticate(ws)
        ws.send_json([removal(good, png_data_uri(), outputType="base64Data"),
                      removal(bad, "not an image at all")])
        frame = ws.receive_json()
    assert [item["taskUUID"] for item in frame["data"]] == [good]
    assert [item["taskUUID"] for item in frame["errors"]] == [bad]
    data = base64.b64decode(frame["data"][0]["imageBase64Data"])
    assert Image.open(io.BytesIO(data)).mode == "RGBA"


def test_a_slow_removal_never_holds_a_ping_back(client: TestClient) -> None:
    task = new_uuid()
    client.post("/__admin/faults", json={"provider": "runware", "fault": "delay=1",
                                         "operation": "image_background_removal", "count": 1})
    with client.websocket_connect("/runware/v1") as ws:
        authenticate(ws)
        ws.send_json([removal(task, png_data_uri())])
        ws.send_json([{"taskType": "ping", "ping": True}])
        first, second = ws.receive_json(), ws.receive_json()
    assert first == {"data": [{"taskType": "ping", "pong": True}]}
    assert second["data"][0]["taskUUID"] == task


def test_an_idle_socket_is_closed_after_120_s_of_mock_time(client: TestClient) -> None:
    with client.websocket_connect("/runware/v1") as ws:
        authenticate(ws)
        advance(client, 119)
        ws.send_json([{"taskType": "ping", "ping": True}])
        assert ws.receive_json()["data"][0]["pong"] is True
        advance(client, 119)  # 119 s after the last message: still open
        ws.send_json([{"taskType": "ping", "ping": True}])
        assert ws.receive_json()["data"][0]["pong"] is True
        advance(client, 121)
        assert closed_with(ws) == 1000


def test_resume_with_connection_session_uuid_delivers_the_kept_result(
        client: TestClient) -> None:
    task = new_uuid()
    client.post("/__admin/faults", json={"provider": "runware",
                                         "operation": "image_background_removal",
                                         "fault": "drop", "count": 1})
    with client.websocket_connect("/runware/v1") as ws:
        session = authenticate(ws)["connectionSessionUUID"]
        ws.send_json([removal(task, png_data_uri())])
        assert closed_with(ws) == 1012
    with client.websocket_connect("/runware/v1") as ws:
        resumed = authenticate(ws, session)
        assert resumed["connectionSessionUUID"] == session
        kept = ws.receive_json()
    assert kept["data"][0]["taskUUID"] == task and kept["data"][0]["imageUUID"]
    # a second resume finds nothing; past 120 s nothing is kept either
    with client.websocket_connect("/runware/v1") as ws:
        assert authenticate(ws, session)["connectionSessionUUID"] != session


def test_kept_results_expire_after_120_s(client: TestClient) -> None:
    client.post("/__admin/faults", json={"provider": "runware",
                                         "operation": "image_background_removal",
                                         "fault": "drop", "count": 1})
    with client.websocket_connect("/runware/v1") as ws:
        session = authenticate(ws)["connectionSessionUUID"]
        ws.send_json([removal(new_uuid(), png_data_uri())])
        assert closed_with(ws) == 1012
    advance(client, 121)
    with client.websocket_connect("/runware/v1") as ws:
        assert authenticate(ws, session)["connectionSessionUUID"] != session
        ws.send_json([{"taskType": "ping", "ping": True}])
        assert ws.receive_json()["data"][0]["pong"] is True


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)
TASK = st.fixed_dictionaries(
    {"taskType": st.sampled_from(["imageUpload", "imageBackgroundRemoval", "removeBackground",
                                  "getResponse", "ping", "authentication", "nope"])},
    optional={"taskUUID": st.sampled_from(["", "x", new_uuid()]) | st.uuids().map(str),
              "inputImage": st.text(max_size=12), "image": st.text(max_size=12),
              "outputType": st.sampled_from(["URL", "base64Data", "dataURI", "x"]),
              "apiKey": st.sampled_from([KEY, "wrong", ""]), "ping": ANY_JSON,
              "extra": ANY_JSON})
FRAMES = st.text(max_size=40) | st.binary(max_size=40) \
    | ANY_JSON.map(json.dumps) | st.lists(TASK, max_size=3).map(json.dumps)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frames=st.lists(FRAMES, min_size=1, max_size=4))
def test_any_frames_get_runware_errors_and_the_socket_stays(client: TestClient,
                                                            frames: list[str | bytes]) -> None:
    with client.websocket_connect("/runware/v1") as ws:
        for frame in frames:
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send_text(frame)
            answer = ws.receive_json()
            assert answer and set(answer) <= {"data", "errors"}
            assert all(isinstance(answer[k], list) for k in answer)
            if "errors" in answer:  # Runware's error objects, as its contract has them
                contracts.validate("runware", "error.response", {"errors": answer["errors"]})
                assert all(e["code"] != "internalServerError" for e in answer["errors"])
        ws.send_json([{"taskType": "ping", "ping": True}])
        assert ws.receive_json()["data"][0]["pong"] is True


# --- REST and WebSocket answer alike -------------------------------------------------------

ID_FIELDS = ("taskUUID", "imageUUID", "inputImageUUID", "connectionSessionUUID")
URL = re.compile(r"https?://[^\s\"]+")


def normalised(answer: dict[str, Any], tasks: dict[str, int]) -> dict[str, Any]:
    """``answer`` with task ids by position and every other id or URL blanked."""
    def item(value: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, field in value.items():
            if name == "taskUUID":
                out[name] = tasks.get(field, "?")
            elif name in ID_FIELDS or (isinstance(field, str) and URL.fullmatch(field)):
                out[name] = "*"
            else:
                out[name] = field
        return out

    return {kind: [item(v) for v in answer.get(kind, [])] for kind in ("data", "errors")
            if kind in answer}


def task_list(draw: Any) -> list[dict[str, Any]]:
    image = png_data_uri()
    options = st.sampled_from([
        {"taskType": "imageUpload", "image": image},
        {"taskType": "imageBackgroundRemoval", "inputImage": image, "outputType": "base64Data"},
        {"taskType": "imageBackgroundRemoval", "inputImage": image, "outputType": "dataURI",
         "outputFormat": "WEBP", "includeCost": True},
        {"taskType": "removeBackground", "inputImage": image, "model": "runware:109@1",
         "outputType": "base64Data", "settings": {"rgba": [255, 255, 255, 255]}},
        {"taskType": "removeBackground", "inputImage": image, "model": "nope:1@1"},
        {"taskType": "imageBackgroundRemoval", "inputImage": "garbage"},
        {"taskType": "imageBackgroundRemoval", "inputImage": image, "outputQuality": 5},
        {"taskType": "imageUpload", "image": image, "unknownField": 1},
        {"taskType": "nope"},
    ])
    return draw(st.lists(options, min_size=1, max_size=3))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_rest_and_websocket_answer_the_same_tasks_alike(client: TestClient,
                                                        data: st.DataObject) -> None:
    tasks = task_list(data.draw)
    rest_tasks = [{**t, "taskUUID": new_uuid()} for t in tasks]
    ws_tasks = [{**t, "taskUUID": new_uuid()} for t in tasks]
    rest = client.post("/runware/v1", json=rest_tasks,
                       headers={"Authorization": f"Bearer {KEY}"}).json()
    with client.websocket_connect("/runware/v1") as ws:
        authenticate(ws)
        ws.send_json(ws_tasks)
        over_socket = ws.receive_json()
    assert normalised(rest, {t["taskUUID"]: n for n, t in enumerate(rest_tasks)}) == \
        normalised(over_socket, {t["taskUUID"]: n for n, t in enumerate(ws_tasks)})


# --- over the wire -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wire() -> Iterator[str]:
    """The mock on a real socket with `bgmock serve`'s protocol and limits."""
    with served(create_app(SETTINGS)) as address:
        yield address


def test_over_the_wire_auth_ping_and_a_removal(wire: str) -> None:
    task = new_uuid()
    with connect(f"ws://{wire}/runware/v1", max_size=None) as ws:
        ws.send(json.dumps([{"taskType": "ping", "ping": True}]))
        assert json.loads(ws.recv(timeout=5)) == {"data": [{"taskType": "ping", "pong": True}]}
        ws.send(json.dumps(AUTH))
        assert json.loads(ws.recv(timeout=5))["data"][0]["connectionSessionUUID"]
        ws.send(json.dumps([removal(task, png_data_uri(), outputType="URL")]))
        item = json.loads(ws.recv(timeout=30))["data"][0]
    assert item["taskUUID"] == task and item["imageURL"].startswith(f"http://{wire}/")
    assert httpx.get(item["imageURL"]).status_code == 200


def test_over_the_wire_frames_up_to_30_mib_are_read_larger_ones_refused(wire: str) -> None:
    with connect(f"ws://{wire}/runware/v1", max_size=None) as ws:
        authenticate_wire(ws)
        big = json.dumps([{"taskType": "ping", "ping": True, "pad": "x" * (20 * MiB)}])
        ws.send(big)  # over uvicorn's default 16 MiB: read, and answered in Runware's words
        answer = json.loads(ws.recv(timeout=30))
        assert answer["errors"][0]["code"] == "unknownParameter"
        ws.send(json.dumps([{"taskType": "ping", "pad": "x" * (30 * MiB + 10)}]))
        assert "errors" in json.loads(ws.recv(timeout=30))  # over 30 MiB: refused, not dropped
        ws.send(json.dumps([{"taskType": "ping", "ping": True}]))
        assert json.loads(ws.recv(timeout=5))["data"][0]["pong"] is True


def test_over_the_wire_the_admin_drop_is_an_error_close(wire: str) -> None:
    with connect(f"ws://{wire}/runware/v1") as ws:
        authenticate_wire(ws)
        dropped = httpx.post(f"http://{wire}/__admin/websockets/drop",
                             json={"provider": "runware", "key": KEY}).json()
        assert dropped["dropped"] == 1
        with pytest.raises(ConnectionClosedError) as caught:
            ws.recv(timeout=5)
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1012


def authenticate_wire(ws: Any) -> str:
    ws.send(json.dumps(AUTH))
    return str(json.loads(ws.recv(timeout=5))["data"][0]["connectionSessionUUID"])


def test_over_the_wire_auth_first_and_a_bad_key_keeps_the_socket(wire: str) -> None:
    task = new_uuid()
    with connect(f"ws://{wire}/runware/v1") as ws:
        ws.send(json.dumps([{"taskType": "imageUpload", "taskUUID": task,
                             "image": png_data_uri()}]))
        error = json.loads(ws.recv(timeout=5))["errors"][0]
        assert (error["code"], error["taskUUID"], error["taskType"]) == \
            ("missingApiKey", task, "imageUpload")
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": "wrong"}]))
        assert json.loads(ws.recv(timeout=5))["errors"][0]["code"] == "invalidApiKey"
        assert authenticate_wire(ws)


def test_over_the_wire_idle_close_and_resume(wire: str) -> None:
    http = f"http://{wire}"
    with connect(f"ws://{wire}/runware/v1") as ws:
        authenticate_wire(ws)
        httpx.post(f"{http}/__admin/clock/advance", json={"seconds": 121})
        with pytest.raises(ConnectionClosedOK) as idle:
            ws.recv(timeout=5)
    assert idle.value.rcvd is not None and idle.value.rcvd.code == 1000
    task = new_uuid()
    httpx.post(f"{http}/__admin/faults", json={"provider": "runware", "fault": "drop",
                                               "operation": "image_background_removal",
                                               "match": {"taskUUID": task}})
    with connect(f"ws://{wire}/runware/v1") as ws:
        session = authenticate_wire(ws)
        ws.send(json.dumps([removal(task, png_data_uri())]))
        with pytest.raises(ConnectionClosedError):
            ws.recv(timeout=30)
    httpx.delete(f"{http}/__admin/faults")
    with connect(f"ws://{wire}/runware/v1") as ws:
        ws.send(json.dumps([{**AUTH[0], "connectionSessionUUID": session}]))
        assert json.loads(ws.recv(timeout=5))["data"][0]["connectionSessionUUID"] == session
        kept = json.loads(ws.recv(timeout=5))["data"][0]
    assert kept["taskUUID"] == task and kept["imageURL"].startswith(http)
