"""WebSocket through the front door (D81): prefix and Host routing, one pipeline run and one
journal entry per message, faults per message, bad frames answered, never a dropped socket."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from bgmock.server.app import create_app
from bgmock.server.providers import all_providers
from bgmock.server.settings import Settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import connect

from tests.fake_providers import SECRET, fake_providers

SETTINGS = Settings(clock="virtual", seed=3, max_image_bytes=4096)  # frames up to 1 MiB + 8 KiB
LIMIT = 4096 * 2 + 1024 * 1024
AUTH = {"Authorization": f"Bearer {SECRET}"}


def app() -> Any:
    return create_app(SETTINGS, providers=[*all_providers(), *fake_providers()])


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with TestClient(app()) as test_client:
        yield test_client


def journal(client: TestClient, provider: str) -> list[dict[str, Any]]:
    return client.get("/__admin/journal", params={"provider": provider}).json()


def test_each_message_is_answered_and_journalled(client: TestClient) -> None:
    with client.websocket_connect("/wsecho/echo") as ws:
        ws.send_json({"hello": "world"})
        first = ws.receive_json()
        ws.send_bytes(b'{"n": 2}')
        second = ws.receive_json()
    assert first["echo"] == {"hello": "world"} and second["echo"] == {"n": 2}
    assert first["requestId"] != second["requestId"]  # one request id per message
    entries = journal(client, "wsecho")
    assert [(e["method"], e["operation"], e["code"], e["path"]) for e in entries] == \
        [("WEBSOCKET", "echo", "ok", "/wsecho/echo")] * 2


def test_frames_that_are_not_json_get_the_providers_error_and_the_socket_stays(
        client: TestClient) -> None:
    with client.websocket_connect("/wsecho/echo") as ws:
        for frame in ("not json", "", "[1, 2", '"\\ud800"'):
            ws.send_text(frame)
            assert ws.receive_json()["errors"][0]["code"] == "notJson"
        ws.send_json([1, 2])  # JSON, but not what the contract takes: the contract's error
        assert ws.receive_json()["errors"][0]["code"] == "invalid"
        ws.send_json({"still": "open"})
        assert ws.receive_json()["echo"] == {"still": "open"}
    codes = [e["code"] for e in journal(client, "wsecho")]
    assert codes == ["notJson"] * 4 + ["invalid", "ok"]


def test_a_message_over_the_limit_is_refused_and_the_socket_stays(client: TestClient) -> None:
    with client.websocket_connect("/wsecho/echo") as ws:
        ws.send_text(json.dumps({"x": "y" * LIMIT}))
        error = ws.receive_json()
        ws.send_json({"x": "small"})
        assert ws.receive_json()["echo"] == {"x": "small"}
    assert error["errors"][0]["code"] == "notJson"
    assert journal(client, "wsecho")[0]["problem"] == "message too large"


def test_faults_apply_per_message(client: TestClient) -> None:
    client.post("/__admin/faults", json={"provider": "wsecho", "operation": "echo",
                                         "fault": "error=busy", "count": 1})
    with client.websocket_connect("/wsecho/echo") as ws:
        ws.send_json({"a": 1})
        faulted = ws.receive_json()
        ws.send_json({"a": 2})
        clean = ws.receive_json()
    assert faulted["errors"][0]["code"] == "busy" and clean["echo"] == {"a": 2}
    with client.websocket_connect("/wsecho/echo", headers={"X-Mock-Fault": "error=busy"}) as ws:
        ws.send_json({"a": 3})
        assert ws.receive_json()["errors"][0]["code"] == "busy"


def test_host_routing_reaches_the_socket(client: TestClient) -> None:
    with client.websocket_connect("/echo", headers={"Host": "ws.echo.test"}) as ws:
        ws.send_json({"via": "host"})
        assert ws.receive_json()["echo"] == {"via": "host"}


def test_a_path_without_a_socket_refuses_the_upgrade(client: TestClient) -> None:
    for path in ("/wsecho/nowhere", "/topview/v1/upload/check", "/nowhere"):
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(path) as ws:
            ws.receive_json()
    assert client.get("/wsecho/echo").status_code == 405  # a socket path, not an HTTP one


def test_a_message_naming_several_operations_gets_one_frame(client: TestClient) -> None:
    with client.websocket_connect("/batch/v1", headers=AUTH) as ws:
        ws.send_json([{"taskType": "add", "taskUUID": "a", "a": 2, "b": 3},
                      {"taskType": "ping", "taskUUID": "p"}])
        frame = ws.receive_json()
    assert frame["data"] == [{"taskType": "add", "taskUUID": "a", "sum": 5}]
    assert frame["errors"][0]["code"] == "unsupportedTaskType"
    assert [e["operation"] for e in journal(client, "batch")] == ["add", ""]


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(st.text(max_size=40) | st.binary(max_size=40), min_size=1, max_size=5))
def test_any_frames_get_an_answer_each_and_the_socket_stays(client: TestClient,
                                                           frames: list[str | bytes]) -> None:
    with client.websocket_connect("/batch/v1", headers=AUTH) as ws:
        for frame in frames:
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send_text(frame)
            answer = ws.receive_json()
            assert set(answer) <= {"data", "errors"} and answer
        ws.send_json([{"taskType": "echo", "taskUUID": "last", "text": "ok"}])
        assert ws.receive_json()["data"][0]["taskUUID"] == "last"


# --- over the wire ------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(app(), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(5)


def test_over_the_wire_prefix_and_host(server: str) -> None:
    with connect(f"ws://{server}/wsecho/echo") as ws:
        ws.send(json.dumps({"over": "wire"}))
        assert json.loads(ws.recv(timeout=5))["echo"] == {"over": "wire"}
        ws.send("}{")
        assert json.loads(ws.recv(timeout=5))["errors"][0]["code"] == "notJson"
        ws.send(b'{"binary": true}')
        assert json.loads(ws.recv(timeout=5))["echo"] == {"binary": True}
    host, port = server.split(":")
    sock = socket.create_connection((host, int(port)))  # reach the mock under the real name
    with connect(f"ws://ws.echo.test:{port}/echo", sock=sock) as ws:
        ws.send(json.dumps({"by": "host"}))
        assert json.loads(ws.recv(timeout=5))["echo"] == {"by": "host"}


def test_over_the_wire_a_large_frame_is_refused_not_dropped(server: str) -> None:
    with connect(f"ws://{server}/wsecho/echo", max_size=None) as ws:
        ws.send(json.dumps({"x": "y" * LIMIT}))
        assert json.loads(ws.recv(timeout=5))["errors"][0]["code"] == "notJson"
        ws.send(json.dumps({"after": 1}))
        assert json.loads(ws.recv(timeout=5))["echo"] == {"after": 1}
