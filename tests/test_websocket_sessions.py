"""The WebSocket session layer (D200-D205) on the test-only ``wsession`` provider: messages
handled concurrently, sessions set by the provider's login, idle close on the mock clock,
answers parked for a resume (bounded, with a lifetime), the admin's drop and the ``drop`` fault,
the socket cap, and bad frames never closing a socket."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import weakref
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bgmock.server import server as serving
from bgmock.server.app import WS_MAX_SIZE, create_app
from bgmock.server.core import websocket
from bgmock.server.core.clock import Clock
from bgmock.server.core.faults import FaultSyntaxError, parse
from bgmock.server.core.sessions import ParkedFrames, Resume, Session, SocketRules
from bgmock.server.core.timeline import Timeline
from bgmock.server.providers import all_providers
from bgmock.server.settings import Settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from tests.fake_providers import SECRET, fake_providers
from tests.harness import served

SETTINGS = Settings(clock="virtual", seed=5, max_image_bytes=4096)
LOGIN = [{"taskType": "login", "apiKey": SECRET}]


def app() -> Any:
    return create_app(SETTINGS, providers=[*all_providers(), *fake_providers()])


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with TestClient(app()) as test_client:
        yield test_client


def echo(uuid: str, text: str = "hi") -> list[dict[str, Any]]:
    return [{"taskType": "echo", "taskUUID": uuid, "text": text}]


def login(ws: Any, session: str | None = None) -> str:
    ws.send_json([{**LOGIN[0], "session": session}] if session else LOGIN)
    return str(ws.receive_json()["data"][0]["session"])


def advance(client: TestClient, seconds: float) -> None:
    assert client.post("/__admin/clock/advance", json={"seconds": seconds}).status_code == 200


def closed_with(ws: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as caught:
        ws.receive_json()
    return caught.value.code


def test_tasks_before_login_are_refused_and_the_socket_stays(client: TestClient) -> None:
    with client.websocket_connect("/wsession/v1") as ws:
        ws.send_json(echo("a"))
        assert ws.receive_json()["errors"] == [
            {"code": "missingApiKey", "message": "log in first", "taskType": "echo",
             "taskUUID": "a"}]
        ws.send_json([{"taskType": "login", "apiKey": "wrong"}])
        assert ws.receive_json()["errors"][0]["code"] == "invalidApiKey"
        login(ws)
        ws.send_json(echo("b"))
        assert ws.receive_json()["data"] == [{"taskType": "echo", "taskUUID": "b", "text": "hi"}]


def test_a_slow_message_never_holds_a_ping_back(client: TestClient) -> None:
    client.post("/__admin/faults", json={"provider": "wsession", "operation": "echo",
                                         "fault": "delay=1", "count": 1})
    with client.websocket_connect("/wsession/v1") as ws:
        login(ws)
        ws.send_json(echo("slow"))
        ws.send_json([{"taskType": "ping", "ping": True}])
        first, second = ws.receive_json(), ws.receive_json()
    assert first["data"] == [{"taskType": "ping", "pong": True}]
    assert second["data"][0]["taskUUID"] == "slow"


def test_messages_over_the_inflight_bound_wait_and_are_all_answered(client: TestClient) -> None:
    client.post("/__admin/faults", json={"provider": "wsession", "operation": "echo",
                                         "fault": "delay=0.2"})
    with client.websocket_connect("/wsession/v1") as ws:  # max_inflight 4
        login(ws)
        for n in range(9):
            ws.send_json(echo(f"t{n}"))
        got = {ws.receive_json()["data"][0]["taskUUID"] for _ in range(9)}
    assert got == {f"t{n}" for n in range(9)}


def test_an_idle_socket_is_closed_after_its_idle_time_of_mock_clock(client: TestClient) -> None:
    with client.websocket_connect("/wsession/v1") as ws:
        login(ws)
        advance(client, 59)
        ws.send_json([{"taskType": "ping"}])  # a message either way restarts the count
        assert ws.receive_json()["data"][0]["pong"] is True
        advance(client, 59)
        ws.send_json([{"taskType": "ping"}])
        assert ws.receive_json()["data"][0]["pong"] is True
        advance(client, 61)
        assert closed_with(ws) == 1000
    assert client.get("/__admin/websockets").json()["sockets"] == []


def test_a_socket_that_never_authenticates_is_closed_at_its_wall_deadline(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """D207: an unauthenticated socket holds a connection slot for ``auth_seconds`` of wall time
    at most, whatever the mock clock does (pings do not count: they need no login)."""
    from tests.fake_providers import SessionRules

    monkeypatch.setattr(SessionRules, "auth_seconds", 0.3)
    with client.websocket_connect("/wsession/v1") as ws:
        ws.send_json([{"taskType": "ping"}])
        assert ws.receive_json()["data"][0]["pong"] is True
        assert closed_with(ws) == 1008
    with client.websocket_connect("/wsession/v1") as ws:
        login(ws)
        time.sleep(0.6)  # past the deadline (wall time is what this rule is about)
        ws.send_json([{"taskType": "ping"}])
        assert ws.receive_json()["data"][0]["pong"] is True
    assert client.get("/__admin/websockets").json()["sockets"] == []


def test_a_dropped_socket_s_answer_is_delivered_on_resume(client: TestClient) -> None:
    client.post("/__admin/faults", json={"provider": "wsession", "operation": "echo",
                                         "fault": "drop", "count": 1})
    with client.websocket_connect("/wsession/v1") as ws:
        session = login(ws)
        ws.send_json(echo("lost", "kept"))
        assert closed_with(ws) == 1012
    assert client.get("/__admin/websockets").json()["parked"]["frames"] == 1
    with client.websocket_connect("/wsession/v1") as ws:
        assert login(ws, session) == session  # the old session id again
        assert ws.receive_json()["data"] == [
            {"taskType": "echo", "taskUUID": "lost", "text": "kept"}]
        ws.send_json(echo("next"))  # the resumed socket works as any other
        assert ws.receive_json()["data"][0]["taskUUID"] == "next"
    assert client.get("/__admin/websockets").json()["parked"]["frames"] == 0


def test_parked_answers_go_after_their_lifetime_and_need_the_same_key(
        client: TestClient) -> None:
    client.post("/__admin/faults", json={"provider": "wsession", "operation": "echo",
                                         "fault": "drop"})
    sessions = []
    for n in range(2):
        with client.websocket_connect("/wsession/v1") as ws:
            sessions.append(login(ws))
            ws.send_json(echo(f"lost{n}"))
            assert closed_with(ws) == 1012
    client.delete("/__admin/faults")
    with client.websocket_connect("/wsession/v1") as ws:  # a wrong key claims nothing
        ws.send_json([{"taskType": "login", "apiKey": "wrong", "session": sessions[0]}])
        assert ws.receive_json()["errors"][0]["code"] == "invalidApiKey"
        fresh = login(ws)
        assert fresh not in sessions
    engine = client.app.state.engine  # type: ignore[attr-defined]
    rules = engine.providers[-1].spec.socket_rules
    other = Resume(sessions[0], "k2")  # another key naming a kept session: not given its id
    rules.resume, saved = (lambda params: other), rules.resume
    try:
        with client.websocket_connect("/wsession/v1") as ws:
            assert login(ws) != sessions[0]
    finally:
        rules.resume = saved
    assert engine.parked.holds(sessions[0]) == 1
    advance(client, 31)  # past the 30 s the wsession provider keeps answers
    with client.websocket_connect("/wsession/v1") as ws:
        assert login(ws, sessions[1]) != sessions[1]  # nothing kept: a new session
        ws.send_json([{"taskType": "ping"}])
        assert ws.receive_json()["data"][0]["pong"] is True  # nothing else came first
    assert client.get("/__admin/websockets").json()["parked"]["sessions"] == 0


def test_nothing_unauthenticated_is_parked(client: TestClient) -> None:
    client.post("/__admin/faults", json={"provider": "wsession", "operation": "ping",
                                         "fault": "drop"})
    with client.websocket_connect("/wsession/v1") as ws:
        ws.send_json([{"taskType": "ping"}])
        assert closed_with(ws) == 1012
    assert client.get("/__admin/websockets").json()["parked"]["frames"] == 0


def test_the_admin_drops_sockets_by_provider_and_key(client: TestClient) -> None:
    with client.websocket_connect("/wsession/v1") as keyed, \
            client.websocket_connect("/wsession/v1") as anonymous, \
            client.websocket_connect("/wsecho/echo") as other:
        login(keyed)
        listed = client.get("/__admin/websockets", params={"provider": "wsession"}).json()
        assert sorted(s["key"] or "" for s in listed["sockets"]) == ["", "k1"]
        answer = client.post("/__admin/websockets/drop",
                             json={"provider": "wsession", "key": "k1"}).json()
        assert answer["dropped"] == 1 and answer["sockets"][0]["key"] == "k1"
        assert closed_with(keyed) == 1012
        anonymous.send_json([{"taskType": "ping"}])
        assert anonymous.receive_json()["data"][0]["pong"] is True
        dropped = client.post("/__admin/websockets/drop", json={"code": 1011}).json()
        assert dropped["dropped"] == 2
        assert closed_with(anonymous) == 1011 and closed_with(other) == 1011
    for body in ({"provider": "nope"}, {"code": 1000}, {"code": "1012"}, {"key": ""},
                 {"extra": 1}):
        assert client.post("/__admin/websockets/drop", json=body).status_code == 400
    assert client.get("/__admin/websockets", params={"provider": "nope"}).status_code == 400
    paths = client.get("/__admin/openapi.json").json()["paths"]
    assert "/websockets/drop" in paths and "/websockets" in paths


def test_sockets_over_the_cap_are_closed_at_once(client: TestClient) -> None:
    client.app.state.engine.sockets.limit = 1  # type: ignore[attr-defined]
    with client.websocket_connect("/wsession/v1") as first:
        with client.websocket_connect("/wsession/v1") as second:
            assert closed_with(second) == 1013
        first.send_json([{"taskType": "ping"}])
        assert first.receive_json()["data"][0]["pong"] is True


def test_a_reset_keeps_sockets_and_their_idle_close(client: TestClient) -> None:
    with client.websocket_connect("/wsession/v1") as ws:
        login(ws)
        client.post("/__admin/reset")
        ws.send_json([{"taskType": "ping"}])
        assert ws.receive_json()["data"][0]["pong"] is True
        advance(client, 61)
        assert closed_with(ws) == 1000


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(
    st.text(max_size=60) | st.binary(max_size=40)
    | st.lists(st.dictionaries(st.sampled_from(["taskType", "taskUUID", "text", "apiKey",
                                                "session", "ping"]),
                               st.none() | st.booleans() | st.integers() | st.text(max_size=8)
                               | st.sampled_from(["login", "echo", "ping", SECRET]),
                               max_size=4), max_size=3).map(json.dumps),
    min_size=1, max_size=5))
def test_any_frames_get_the_providers_answer_and_the_socket_stays(
        client: TestClient, frames: list[str | bytes]) -> None:
    with client.websocket_connect("/wsession/v1") as ws:
        for frame in frames:
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send_text(frame)
            answer = ws.receive_json()
            assert answer and set(answer) <= {"data", "errors"}
            for error in answer.get("errors", []):
                assert {"code", "message"} <= set(error)
        login(ws)
        ws.send_json(echo("last"))
        assert ws.receive_json()["data"][0]["taskUUID"] == "last"


def test_a_closed_socket_is_not_kept_by_its_idle_check(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with client.websocket_connect("/wsession/v1") as ws:
        login(ws)
        ref = weakref.ref(engine.sockets.select("wsession")[0])
    deadline = time.monotonic() + 5
    while engine.sockets.connections and time.monotonic() < deadline:
        time.sleep(0.01)  # the server side sees the close
    gc.collect()
    assert ref() is None


# --- units ---------------------------------------------------------------------------------

def test_parked_frames_are_bounded_per_key_and_in_total() -> None:
    clock, timeline = Clock("virtual"), Timeline()
    parked = ParkedFrames(clock, timeline, total=100, per_key=60)
    a, b = Session("a", "k1"), Session("b", "k2")
    for n in range(4):
        assert parked.park(a, f"{n}" * 20, 30)
    assert parked.snapshot()["bytes"] == 60 and parked.dropped == 1  # the oldest went
    for n in range(3):
        parked.park(b, f"{n}" * 20, 30)
    assert parked.size <= 100
    assert parked.claim(Resume("a", "k2")) == []  # another key claims nothing
    kept = parked.claim(Resume("a", "k1"))
    assert kept and kept[-1] == "3" * 20
    assert not parked.park(Session("c", None), "x", 30)  # unauthenticated: never kept
    assert not parked.park(Session("c", "k3"), "x" * 61, 30)  # over a key's bound
    parked.park(b, "again", 30)  # one timeline entry per session, moved on when due
    assert len(timeline) == 2
    clock.advance(31)
    while (action := timeline.pop_due(clock.now())) is not None:
        action()
    assert parked.snapshot() == {"sessions": 0, "bytes": 0, "frames": 0,
                                 "dropped": parked.dropped}


def test_the_drop_directive() -> None:
    assert parse("drop").drop and parse("drop;delay=0.1").describe() == "delay=0.1;drop"
    with pytest.raises(FaultSyntaxError):
        parse("drop=1")


def test_the_server_takes_frames_as_large_as_the_largest_route() -> None:
    mock = create_app(SETTINGS, providers=[*all_providers(), *fake_providers()])
    assert serving.config(mock, SETTINGS).ws_max_size == mock.ws_max_size >= WS_MAX_SIZE
    assert serving.config(object(), SETTINGS).ws_max_size == WS_MAX_SIZE


# --- over the wire -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The fake providers served over a real socket (`bgmock serve`'s protocol and limits)."""
    with served(app()) as address:
        yield f"ws://{address}"


def test_over_the_wire_a_drop_is_an_error_close_and_resume_works(server: str) -> None:
    base = server + "/wsession/v1"
    http = server.replace("ws://", "http://")
    httpx.post(f"{http}/__admin/faults", json={"provider": "wsession", "operation": "echo",
                                               "fault": "drop", "count": 1})
    with connect(base) as ws:
        ws.send(json.dumps(LOGIN))
        session = json.loads(ws.recv(timeout=5))["data"][0]["session"]
        ws.send(json.dumps(echo("wire")))
        with pytest.raises(ConnectionClosedError) as caught:
            ws.recv(timeout=5)
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1012
    with connect(base) as ws:
        ws.send(json.dumps([{**LOGIN[0], "session": session}]))
        assert json.loads(ws.recv(timeout=5))["data"][0]["session"] == session
        assert json.loads(ws.recv(timeout=5))["data"][0]["taskUUID"] == "wire"
        started = time.monotonic()
        ws.send(json.dumps([{"taskType": "ping"}]))
        assert json.loads(ws.recv(timeout=5))["data"][0]["pong"] is True
        assert time.monotonic() - started < 5


def test_a_close_is_not_held_back_by_a_client_that_does_not_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Stuck:  # a socket whose send never completes (the client stopped reading)
        closed: int | None = None

        async def send_text(self, text: str) -> None:
            await asyncio.Event().wait()

        async def close(self, code: int, reason: str = "") -> None:
            self.closed = code

    monkeypatch.setattr(websocket, "CLOSE_WAIT", 0.1)
    engine = app().state.engine
    socket = Stuck()
    connection = websocket.Connection(1, "wsession", socket, SocketRules(),  # type: ignore[arg-type]
                                      engine)

    async def scenario() -> None:
        sending = asyncio.create_task(connection.send("frame"))
        await asyncio.sleep(0.01)
        await asyncio.wait_for(connection.close(1012), 2)
        sending.cancel()

    asyncio.run(scenario())
    assert socket.closed == 1012 and not connection.open
