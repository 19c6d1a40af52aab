"""Webhooks on the mock clock (core/webhooks.py, D110-D113) with Topview's callback (D114).

Every test sends to a real receiver (uvicorn on a free port). Virtual-clock tests assert right
after ``/__admin/clock/advance``, which returns once the attempts it caused were made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bgmock.server.core.faults import FaultSyntaxError, parse
from bgmock.server.settings import Settings, resolve
from bgmock.server.testing import InProcessMock, running_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgmock import contracts
from tests.topview_calls import DEMO, DEMO_UID, QUERY, SUBMIT
from tests.webhook_receiver import Receiver

SOURCE = "5a85c359bff14c95889e4652f1ec467e"       # a docs upload, there on a fresh mock
HOOKS = "/__admin/webhooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def make_mock(**settings: Any) -> InProcessMock:
    return InProcessMock(Settings(clock="virtual", **settings))


@pytest.fixture
def mock() -> Iterator[InProcessMock]:
    m = make_mock()
    try:
        yield m
    finally:
        m.close()


def submit(http: httpx.Client, url: str, fault: str | None = None) -> dict[str, Any]:
    headers = {**DEMO, **({"X-Mock-Fault": fault} if fault else {})}
    answer = http.post(SUBMIT, json={"productImageFileId": SOURCE, "noticeUrl": url},
                       headers=headers).json()
    assert answer["code"] == "200", answer
    return answer["result"]


def journal(http: httpx.Client, **filters: Any) -> list[dict[str, Any]]:
    response = http.get(HOOKS, params=filters)
    assert response.status_code == 200, response.text
    return response.json()


def advance(http: httpx.Client, seconds: float) -> None:
    assert http.post("/__admin/clock/advance", json={"seconds": seconds}).status_code == 200


# --- the engine on the virtual clock ------------------------------------------------------


def test_a_receiver_failing_twice_gets_three_attempts_at_their_mock_times(mock: InProcessMock):
    with Receiver(statuses=(500, 503)) as receiver, mock.client() as http:
        start = mock.engine.clock.now()
        accepted = submit(http, receiver.url)
        advance(http, 4.9)
        assert receiver.hits == [] and journal(http) == []   # the task ends at 5 s
        advance(http, 200)
        attempts = journal(http, task=accepted["taskId"])
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["outcome"] for a in attempts] == ["failed", "failed", "delivered"]
    assert [a["status"] for a in attempts] == [500, 503, 200]
    # the task ends at 5 s; retries 5 s and 30 s after each failure (mock time)
    assert [round(a["sentAt"] - start, 6) for a in attempts] == [5.0, 10.0, 40.0]
    assert [a["sentAt"] for a in attempts] == [a["scheduledAt"] for a in attempts]
    assert attempts[0]["error"] == "HTTP 500" and attempts[2]["error"] is None
    assert attempts[2]["answer"] == '{"code":"200"}'
    assert len(receiver.hits) == 3
    assert all(hit.body == receiver.hits[0].body for hit in receiver.hits)  # the same callback
    assert all(a["body"] == receiver.hits[0].body for a in attempts)


def test_the_topview_callback_matches_its_contract_and_the_query(mock: InProcessMock,
                                                                 receiver: Receiver):
    with mock.client() as http:
        accepted = submit(http, receiver.url)
        advance(http, 5)
        (hit,) = receiver.hits
        query = http.get(QUERY, params={"taskId": accepted["taskId"]}, headers=DEMO).json()
    contracts.validate("topview", "callback", hit.body)
    assert hit.path == "/topview-callback"
    assert hit.headers["topview-uid"] == DEMO_UID
    assert hit.headers["content-type"] == "application/json"
    assert hit.body["uuid"] == accepted["noticeUuid"] is not None
    assert hit.body["bizType"] == "COMMON_TASK_REMOVE_BACKGROUND"
    assert (hit.body["taskId"], hit.body["status"], hit.body["errorMsg"]) == (
        accepted["taskId"], "success", None)
    # the query's result object: same fields, same files (URLs are signed afresh per answer)
    unsigned = {k: v.split("?")[0] if isinstance(v, str) else v
                for k, v in hit.body["result"].items()}
    assert unsigned == {k: v.split("?")[0] if isinstance(v, str) else v
                        for k, v in query["result"].items()}
    assert hit.body["result"]["bgRemovedImageFileId"] is not None


def test_a_failed_task_calls_back_with_fail_and_its_message(mock: InProcessMock,
                                                            receiver: Receiver):
    with mock.client() as http:
        submit(http, receiver.url, fault="fail=model overloaded")
        advance(http, 5)
    (hit,) = receiver.hits
    contracts.validate("topview", "callback", hit.body)
    assert (hit.body["status"], hit.body["errorMsg"]) == ("fail", "model overloaded")
    assert hit.body["result"]["status"] == "fail"
    assert hit.body["result"]["errorMsg"] == "model overloaded"


def test_no_notice_url_no_callback(mock: InProcessMock, receiver: Receiver):
    with mock.client() as http:
        answer = http.post(SUBMIT, json={"productImageFileId": SOURCE, "noticeUrl": ""},
                           headers=DEMO).json()
        assert answer["result"]["noticeUuid"] is None
        advance(http, 300)
        assert journal(http) == [] and receiver.hits == []


def test_a_task_ended_by_a_read_calls_back_at_once(receiver: Receiver):
    mock = make_mock(instant=True)   # tasks end on their first poll, not on the clock
    try:
        with mock.client() as http:
            accepted = submit(http, receiver.url)
            query = http.get(QUERY, params={"taskId": accepted["taskId"]}, headers=DEMO).json()
            assert query["result"]["status"] == "success"
            (hit,) = receiver.wait(1)
            assert hit.body["taskId"] == accepted["taskId"]
    finally:
        mock.close()


def test_connection_errors_and_timeouts_are_retried(receiver: Receiver):
    mock = make_mock(webhook_timeout=0.3, webhook_retries=(1, 2))
    dead = "http://127.0.0.1:9/x"   # nothing listens on the discard port
    try:
        with mock.client() as http, Receiver(hang=1) as slow:
            submit(http, dead)
            submit(http, slow.url)
            advance(http, 100)
            refused = journal(http, **{"status": "failed"})
            by_url = {url: [a for a in journal(http) if a["url"] == url]
                      for url in (dead, slow.url)}
        assert [a["outcome"] for a in by_url[dead]] == ["failed"] * 3   # 1 + 2 retries
        assert all(a["status"] is None and "Connect" in a["error"] for a in by_url[dead])
        assert [a["outcome"] for a in by_url[slow.url]] == ["failed", "delivered"]
        assert by_url[slow.url][0]["error"] == "timeout after 0.3 s"
        assert len(slow.hits) == 2          # at-least-once: the timed-out one arrived too
        assert len(refused) == 4
    finally:
        mock.close()


# --- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "rule"])
def test_webhook_drop_is_never_sent(mock: InProcessMock, receiver: Receiver, how: str):
    with mock.client() as http:
        if how == "rule":
            mock.fault("topview", "webhook=drop", operation="remove_background_submit")
        submit(http, receiver.url, fault="webhook=drop" if how == "header" else None)
        advance(http, 300)
        (record,) = journal(http)
    assert receiver.hits == []
    assert (record["outcome"], record["fault"], record["sentAt"]) == ("dropped", "drop", None)


def test_webhook_duplicate_is_sent_twice(mock: InProcessMock, receiver: Receiver):
    with mock.client() as http:
        mock.fault("topview", "webhook=duplicate", operation="remove_background_submit",
                   count=1)
        submit(http, receiver.url)
        advance(http, 300)
        records = journal(http, status="delivered")
    assert len(receiver.hits) == 2 and receiver.hits[0].body == receiver.hits[1].body
    assert [(r["attempt"], r["fault"]) for r in records] == [(1, "duplicate")] * 2


def test_webhook_delay_sends_late_on_the_mock_clock(mock: InProcessMock, receiver: Receiver):
    with mock.client() as http:
        start = mock.engine.clock.now()
        submit(http, receiver.url, fault="webhook=delay=20")
        advance(http, 24.9)
        assert receiver.hits == []
        advance(http, 0.1)
        (record,) = journal(http)
    assert len(receiver.hits) == 1
    assert round(record["sentAt"] - start, 6) == 25.0 and record["fault"] == "delay=20"


def test_webhook_fail_fails_the_first_attempt_and_retries(mock: InProcessMock,
                                                          receiver: Receiver):
    with mock.client() as http:
        start = mock.engine.clock.now()
        submit(http, receiver.url, fault="webhook=fail")
        advance(http, 5)
        assert receiver.hits == []
        advance(http, 5)
        records = journal(http)
    assert [r["outcome"] for r in records] == ["failed", "delivered"]
    assert [round(r["sentAt"] - start, 6) for r in records] == [5.0, 10.0]
    assert len(receiver.hits) == 1


@pytest.mark.parametrize("fault", ["webhook=", "webhook=later", "webhook=delay",
                                   "webhook=delay=-1", "webhook=delay=86401",
                                   "webhook=delay=nan", "webhook=drop=1"])
def test_bad_webhook_faults_are_refused(mock: InProcessMock, fault: str):
    with mock.client() as http:
        rule = http.post("/__admin/faults", json={"provider": "topview", "fault": fault})
        assert rule.status_code == 400 and "webhook" in rule.json()["detail"]
        answer = http.post(SUBMIT, json={"productImageFileId": SOURCE},
                           headers={**DEMO, "X-Mock-Fault": fault})
        assert answer.status_code == 400 and "webhook" in answer.text


# --- journal and redelivery ----------------------------------------------------------------


def test_redeliver_sends_the_same_callback_once_more(mock: InProcessMock, receiver: Receiver):
    with mock.client() as http:
        accepted = submit(http, receiver.url)
        advance(http, 5)
        (first,) = journal(http)
        again = http.post(f"{HOOKS}/{first['id']}/redeliver")
        assert again.status_code == 200, again.text
        record = again.json()
        assert (record["redeliveryOf"], record["outcome"]) == (first["id"], "delivered")
        assert record["body"] == first["body"] and record["taskId"] == accepted["taskId"]
        assert len(receiver.hits) == 2 and receiver.hits[1].body == receiver.hits[0].body
        assert http.post(f"{HOOKS}/999999/redeliver").status_code == 404
        assert http.post(f"{HOOKS}/x/redeliver").status_code == 400
        assert len(journal(http)) == 2


def test_journal_filters(mock: InProcessMock):
    with Receiver(statuses=(500,)) as receiver, mock.client() as http:
        accepted = submit(http, receiver.url)
        advance(http, 10)
        assert len(journal(http, provider="topview")) == 2
        assert len(journal(http, task=accepted["taskId"])) == 2
        assert len(journal(http, task="0" * 32)) == 0
        assert [r["attempt"] for r in journal(http, status="failed")] == [1]
        assert [r["attempt"] for r in journal(http, status="500")] == [1]
        assert [r["attempt"] for r in journal(http, status="delivered")] == [2]
        assert len(journal(http, limit=1)) == 1
        for bad in ({"provider": "nope"}, {"status": "lost"}, {"limit": 0},
                    {"status": "x" * 300}):
            assert http.get(HOOKS, params=bad).status_code == 400, bad


# --- safety ---------------------------------------------------------------------------------


def test_an_allowlist_refuses_other_hosts(receiver: Receiver):
    mock = make_mock(webhook_allowlist=("hooks.example.com",))
    try:
        with mock.client() as http:
            submit(http, receiver.url)
            advance(http, 300)
            (record,) = journal(http)
        assert receiver.hits == []
        assert record["outcome"] == "refused" and "webhook_allowlist" in record["error"]
    finally:
        mock.close()


def test_localhost_is_allowed_by_default_and_by_an_allowlist_naming_it(receiver: Receiver):
    mock = make_mock(webhook_allowlist=("127.0.0.1",))
    try:
        with mock.client() as http:
            submit(http, receiver.url)
            advance(http, 5)
        assert len(receiver.hits) == 1
    finally:
        mock.close()


def test_a_full_queue_drops_new_deliveries(receiver: Receiver):
    mock = make_mock(webhook_queue=1)
    try:
        with mock.client() as http:
            first = submit(http, receiver.url, fault="webhook=delay=100")
            second = submit(http, receiver.url, fault="webhook=delay=100")
            advance(http, 5)                 # both end; the first waits its 100 s
            (dropped,) = journal(http, status="dropped")
            assert dropped["taskId"] == second["taskId"] and "queue full" in dropped["error"]
            advance(http, 100)
            assert [h.body["taskId"] for h in receiver.hits] == [first["taskId"]]
            third = submit(http, receiver.url)   # the queue has room again
            advance(http, 5)
            assert receiver.hits[-1].body["taskId"] == third["taskId"]
    finally:
        mock.close()


def test_reset_drops_pending_deliveries(mock: InProcessMock, receiver: Receiver):
    with mock.client() as http:
        submit(http, receiver.url, fault="webhook=delay=50")   # ends, then waits
        submit(http, receiver.url, fault="duration=20")        # still running at the reset
        advance(http, 10)
        assert http.post("/__admin/reset").status_code == 200
        advance(http, 500)
        assert receiver.hits == [] and journal(http) == []


def test_shutdown_does_not_wait_for_a_hanging_receiver():
    with Receiver(hang=5, hang_seconds=30) as receiver, \
            running_server(Settings(clock="virtual", webhook_timeout=30)) as server:
        http = httpx.Client(base_url=server.base_url, timeout=30)
        submit(http, receiver.url, fault="duration=0")
        # an advance that waits for the attempt it caused, which the receiver never answers
        waiting = threading.Thread(target=advance, args=(http, 1), daemon=True)
        waiting.start()
        assert receiver.arrived.wait(5)
        started = time.monotonic()
        server.stop()
        waiting.join(5)
        assert time.monotonic() - started < 3 and not waiting.is_alive()
        http.close()


def test_real_clock_delivers_without_polling_soon_after_the_end(receiver: Receiver):
    mock = InProcessMock(Settings(clock="real"))
    try:
        with mock.client() as http:
            accepted = submit(http, receiver.url, fault="duration=0.4")
            created = mock.engine.tasks.get(accepted["taskId"]).created_at
            (hit,) = receiver.wait(1)          # no query, no advance: the scheduler sends it
            finished = mock.engine.tasks.get(accepted["taskId"]).finished_at
        assert finished is not None and finished - created >= 0.4
        # sent as the task ended (~100 ms; room for a busy machine), not at some later poll
        assert 0 <= hit.at - finished < 0.3
    finally:
        mock.close()


# --- Topview's notice check ----------------------------------------------------------------

CHECK_URL = "/topview/notice/notice_url/check"


@pytest.mark.parametrize(("body", "code"), [
    ({"noticeUrl": "https://app.example.com/topview/callback"}, "200"),
    ({"noticeUrl": "http://127.0.0.1:8000/hook"}, "200"),
    ({"noticeUrl": "ftp://app.example.com/hook"}, "4000"),
    ({"noticeUrl": "not a url"}, "4000"),
    ({"noticeUrl": "https://x/" + "a" * 2048}, "4000"),
    ({"noticeUrl": ""}, "4003"),
    ({}, "4003"),
    ({"noticeUrl": 5}, "4001"),
])
def test_notice_url_check(mock: InProcessMock, body: dict[str, Any], code: str):
    with mock.client() as http:
        response = http.post(CHECK_URL, json=body, headers=DEMO)
    assert response.status_code == 200
    answer = response.json()
    assert answer["code"] == code, answer
    contracts.check_response("topview", "notice_url_check", answer)
    assert answer["result"] is (True if code == "200" else None)


def test_notice_url_check_needs_auth(mock: InProcessMock):
    with mock.client() as http:
        answer = http.post(CHECK_URL, json={"noticeUrl": "https://a.example"}).json()
    assert answer == {"code": "401", "message": "Unauthorized, need to login again",
                      "result": None}


def test_a_reset_cancels_an_attempt_in_flight_and_nothing_old_follows():
    mock = make_mock(webhook_timeout=30)
    with Receiver(hang=1, hang_seconds=30) as receiver, mock.client() as http:
        submit(http, receiver.url, fault="duration=0")
        waiting = threading.Thread(target=advance, args=(http, 1), daemon=True)
        waiting.start()                       # waits for the attempt; the receiver hangs
        assert receiver.arrived.wait(5)
        started = time.monotonic()
        assert http.post("/__admin/reset").status_code == 200
        waiting.join(5)
        assert not waiting.is_alive() and time.monotonic() - started < 3
        advance(http, 500)                    # no retry of the old delivery, ever
        assert len(receiver.hits) == 1 and journal(http) == []
    mock.close()


def test_webhook_settings_from_the_environment():
    settings = resolve(environ={"BGMOCK_WEBHOOK_RETRIES": "1, 2.5", "BGMOCK_WEBHOOK_TIMEOUT": "2",
                                "BGMOCK_WEBHOOK_ALLOWLIST": "a.example,.b.example",
                                "BGMOCK_WEBHOOK_QUEUE": "10"})
    assert settings.webhook_retries == (1.0, 2.5) and settings.webhook_timeout == 2.0
    assert settings.webhook_allowlist == ("a.example", ".b.example")
    assert settings.webhook_queue == 10
    assert resolve(environ={"BGMOCK_WEBHOOK_RETRIES": ""}).webhook_retries == ()
    for name, value in (("RETRIES", "5,x"), ("RETRIES", "-1"), ("RETRIES", "1e9"),
                        ("RETRIES", ",".join(["1"] * 11)), ("TIMEOUT", "0"),
                        ("CONCURRENCY", "0"), ("QUEUE", "0"), ("JOURNAL_SIZE", "nan")):
        with pytest.raises(ValueError, match=f"BGMOCK_WEBHOOK_{name}"):
            resolve(environ={f"BGMOCK_WEBHOOK_{name}": value})


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=30))
def test_any_webhook_directive_parses_or_is_refused(value: str):
    try:
        fault = parse(f"webhook={value}")
    except FaultSyntaxError as exc:
        assert "webhook" in str(exc) and len(str(exc)) < 200
    else:
        assert fault.webhook in ("drop", "duplicate", "fail", "delay")
        assert 0 <= fault.webhook_delay <= 86400
        assert parse(fault.describe()) == fault           # what the journal shows parses back


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["provider", "task", "status", "limit"]),
                              st.text(max_size=40), max_size=4))
def test_journal_queries_never_fail(mock: InProcessMock, params: dict[str, str]):
    with mock.client() as http:
        response = http.get(HOOKS, params=params)
    assert response.status_code in (200, 400), response.text
    assert isinstance(response.json(), list if response.status_code == 200 else dict)
