"""Nothing a client sends can pin memory or break the server for the next client (issue 6, the
core parts): bounded journal entries, refused bodies freed at once, nothing kept before
authentication, un-encodable text refused at the edge, atomic admission, fixtures never evicted
and evicted results answering like expired ones, bounded image work."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import threading
import time
import tracemalloc
import urllib.parse
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
from bgmock.server.core import imaging
from bgmock.server.core.journal import DETAIL_MAX, FIELD_MAX, Journal
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock, running_server

from tests.aidge_calls import CUT_OUT, v2_query
from tests.topview_calls import DEMO, QUERY, SUBMIT, Api, topview_body

MiB = 1024 * 1024


def png(width: int = 400, height: int = 400) -> bytes:
    out = io.BytesIO()
    img = imaging.synthetic_product(f"hardening-{width}x{height}", width, height)
    img.save(out, "PNG")
    return out.getvalue()


# --- the journal -------------------------------------------------------------------------

def test_journal_entry_is_bounded_whatever_the_client_sent(api: Api) -> None:
    huge = "x" * (900 * 1024)  # under Topview's 1 MiB body limit (D169): parsed, then refused
    answer = api.post(SUBMIT, json={"productImageFileId": [huge]}).json()
    assert answer["code"] == "4001"
    (entry,) = api.controls.journal(provider="topview", limit=1)
    assert entry["truncated"] is True
    assert len(json.dumps(entry)) < FIELD_MAX + DETAIL_MAX + 2000
    assert entry["status"] == 200 and entry["code"] == "4001"


def test_a_long_query_string_is_cut_in_the_journal(api: Api) -> None:
    api.get(QUERY, params={"taskId": "y" * 60_000})
    (entry,) = api.controls.journal(provider="topview", limit=1)
    assert len(entry["query"]) < FIELD_MAX + 100 and entry["truncated"] is True


def test_extras_never_overwrite_the_core_fields() -> None:
    journal = Journal(10)
    journal.record(1.0, "topview", "op", "GET", "/p", "", None, 200, "ok", "", 0.1,
                   {"status": "overwritten", "problem": "p" * (10 * DETAIL_MAX)})
    (entry,) = journal.entries()
    assert entry["status"] == 200
    assert len(entry["problem"]) <= FIELD_MAX + 40 and entry["truncated"] is True


# --- memory: refused bodies, unauthenticated input -----------------------------------------

def _traced_growth(action: callable) -> int:  # type: ignore[valid-type]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        action()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_refused_oversized_bodies_are_freed_without_a_garbage_collection() -> None:
    settings = Settings(clock="virtual", port=0, max_image_bytes=MiB)  # body limit: 3 MiB
    body = b"{" + b" " * (5 * MiB) + b"}"
    with running_server(settings) as server, httpx.Client(base_url=server.base_url) as http:
        def chunks() -> Iterator[bytes]:
            for start in range(0, len(body), 256 * 1024):
                yield body[start:start + 256 * 1024]

        def send_six() -> None:
            for _ in range(6):
                answer = http.post(SUBMIT, content=chunks(), headers=DEMO).json()
                assert answer["code"] == "4001"

        send_six()  # warm-up: imports, connection, caches
        gc.disable()
        try:
            growth = _traced_growth(send_six)
        finally:
            gc.enable()
    assert growth < 4 * MiB, f"{growth / MiB:.1f} MiB kept after six refused 5 MiB bodies"


def test_nothing_unauthenticated_is_retained(mock: InProcessMock) -> None:
    rounds = iter(range(10))
    with mock.client() as http:
        def unique_requests() -> None:
            salt = next(rounds)
            for n in range(100):
                form = f"imageUrl={salt}-{n}{'a' * 100_000}&backGroundType=WHITE_BACKGROUND"
                answer = http.post(CUT_OUT, content=form, headers={
                    "content-type": "application/x-www-form-urlencoded"}).json()
                assert answer["code"] == "InvalidAppKey"
            for n in range(100):
                answer = http.get(f"/topview/v1/upload/check?fileId={salt}-{n}{'b' * 50_000}")
                assert answer.json()["code"] == "401"

        def measured() -> None:
            unique_requests()
            # Python 3.11+ memoizes urlsplit (128 URLs): the *client* side keeps those
            clear = getattr(urllib.parse.urlsplit, "cache_clear", None)
            if clear is not None:
                clear()

        measured()
        growth = _traced_growth(measured)
    assert growth < 2 * MiB, f"{growth / MiB:.1f} MiB kept from 15 MB of unauthenticated input"


# --- text that cannot be encoded ------------------------------------------------------------

LONE = '"\\ud800"'


def test_lone_surrogates_get_topview_4001_and_are_never_stored(api: Api) -> None:
    file_id = "5a85c359bff14c95889e4652f1ec467e"
    for body in (f'{{"productImageFileId": "{file_id}", "noticeUrl": {LONE}}}',
                 f'{{"productImageFileId": {LONE}}}', f'{{{LONE}: 1}}',
                 '{"productImageFileId": "a\\udfffb"}'):
        answer = api.post(SUBMIT, content=body.encode(),
                          headers={**DEMO, "content-type": "application/json"}).json()
        assert answer["code"] == "4001", body
    # a well-formed pair is fine text: not refused as un-encodable
    pair = f'{{"productImageFileId": "{file_id}", "noticeUrl": "https://e.com/\\ud83d\\ude00"}}'
    assert api.post(SUBMIT, content=pair.encode()).json()["code"] == "200"
    for path in ("/__admin/tasks", "/__admin/accounts", "/__admin/journal"):
        assert api.http.get(path).status_code == 200, path
    assert topview_body("credit_detail", api.get("/topview/user/credit/detail"))["code"] == "200"


def test_lone_surrogates_get_aidge_700(api: Api) -> None:
    now_ms = int(api.controls.clock()["now"] * 1000)
    body = '{"imageUrl": "https://e.com/\\ud800.jpg", "backGroundType": "WHITE_BACKGROUND"}'
    answer = api.http.post(CUT_OUT, params=v2_query(now_ms), content=body.encode(),
                           headers={"content-type": "application/json"}).json()
    assert answer["resCode"] == 700 and "body" in answer["resMessage"]
    assert api.http.get("/__admin/journal").status_code == 200


# --- admission ------------------------------------------------------------------------------

def test_concurrent_submits_cannot_pass_the_concurrency_limit() -> None:
    """Seven tasks far from done and one whose time is up but whose (slow) image work still
    runs: 64 submits at once may add exactly one task (limit 8), never 64."""
    mock = InProcessMock(Settings(clock="virtual"))
    try:
        mock.set_account("topview", DEMO["Topview-Uid"], concurrency=8)
        with mock.client(headers=DEMO) as http:
            def upload(data: bytes) -> str:
                credential = http.get("/topview/v1/upload/credential",
                                      params={"format": "png"}).json()["result"]
                assert http.put(credential["uploadUrl"], content=data).status_code == 200
                return credential["fileId"]

            small, large = upload(png()), upload(png(3000, 3000))
            for _ in range(7):
                answer = http.post(SUBMIT, json={"productImageFileId": small},
                                   headers={"X-Mock-Fault": "stuck"}).json()
                assert answer["code"] == "200"
            answer = http.post(SUBMIT, json={"productImageFileId": large},
                               headers={"X-Mock-Fault": "duration=0"}).json()
            assert answer["code"] == "200"

        async def storm() -> list[str]:
            async with mock.async_client(headers=DEMO) as client:
                answers = await asyncio.gather(*(
                    client.post(SUBMIT, json={"productImageFileId": small},
                                headers={"X-Mock-Fault": "stuck"}) for _ in range(64)))
            return [a.json()["code"] for a in answers]

        codes = mock.transport.portal.call(storm)
        assert codes.count("200") == 1 and codes.count("4007") == 63
        unfinished = [t for t in mock.tasks("topview") if t["status"] in ("init", "running")]
        assert len(unfinished) == 8
    finally:
        mock.close()


# --- storage cap: fixtures stay, evicted results answer like expired ones ------------------

DOCS_TASK = "56eac11a862143989e9cc63f8b213a2d"
DOCS_FILE = "5a85c359bff14c95889e4652f1ec467e"


def test_filling_the_store_never_evicts_the_docs_fixtures() -> None:
    photo = png()
    mock = InProcessMock(Settings(clock="virtual", max_stored_bytes=8 * len(photo)))
    with mock.client(headers=DEMO) as http:
        api = Api("inprocess", http, mock, mock.engine)
        task_id = api.submit(api.upload(photo))
        api.controls.advance(60)
        mine = api.query(task_id)["result"]
        assert http.get(mine["bgRemovedImagePath"]).status_code == 200
        for _ in range(20):  # pushes the task's results out of the cap
            api.upload(photo)
        docs = api.query(DOCS_TASK)["result"]
        assert docs["status"] == "success"
        for url in (docs["bgRemovedImagePath"], docs["maskImagePath"]):
            assert http.get(url).status_code == 200
        # the evicted result: the task is still there, its URL answers like an expired one
        again = api.query(task_id)["result"]
        assert again["status"] == "success"
        gone = http.get(again["bgRemovedImagePath"])
        assert gone.status_code == 403 and b"Request has expired" in gone.content
        evicted = {e["key"] for e in http.get("/__admin/files/evictions").json()}
        assert urlsplit(again["bgRemovedImagePath"]).path.split("/", 4)[-1] in evicted
        assert http.get("/__admin/health").json()["evictedObjects"] >= 2
        assert dict(parse_qsl(urlsplit(again["maskImagePath"]).query))  # still signed
    mock.close()


# --- image work is bounded -------------------------------------------------------------------

def test_image_work_runs_at_most_workers_at_once() -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    async def many() -> None:
        await asyncio.gather(*(imaging.offload(job) for _ in range(4 * imaging.WORKERS + 3)))

    asyncio.run(many())
    assert peak == imaging.WORKERS


# --- found by the independent review of the hardening -------------------------------------

def test_a_notice_url_over_2048_characters_is_refused_not_stored(api: Api) -> None:
    before = len(api.controls.tasks("topview"))
    body = {"productImageFileId": DOCS_FILE, "noticeUrl": "https://e.com/" + "x" * 2048}
    assert api.post(SUBMIT, json=body).json()["code"] == "4000"
    assert len(api.controls.tasks("topview")) == before
    body["noticeUrl"] = body["noticeUrl"][:2048]
    assert api.post(SUBMIT, json=body).json()["code"] == "200"


def test_the_task_listing_is_bounded(api: Api) -> None:
    file_id = api.upload(png())
    made = [api.submit(file_id) for _ in range(3)]
    listed = api.http.get("/__admin/tasks", params={"limit": 2}).json()
    assert [t["id"] for t in listed] == made[-2:]
    assert api.http.get("/__admin/tasks", params={"limit": 0}).status_code == 400


def test_admin_keys_that_were_not_utf8_or_hold_control_characters_are_refused(
        http: httpx.Client) -> None:
    for key in ("%FF", "%FE", "a%00b", "tab%09", "%ED%A0%80"):
        answer = http.put(f"/__admin/accounts/topview/{key}", json={"secret": "ok"})
        assert answer.status_code == 400, key
    assert len(http.get("/__admin/accounts/topview").json()) == 1  # the demo account only


def test_admin_paths_do_not_redirect_off_the_mock(http: httpx.Client) -> None:
    answer = http.get("/__admin/health/", headers={"Host": "api.topview.ai"})
    assert answer.status_code == 404 and "location" not in answer.headers


def test_a_405_on_the_remote_registry_lists_its_methods(http: httpx.Client) -> None:
    answer = http.request("PATCH", "/__admin/remote")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "DELETE, GET, HEAD, PUT"


def test_the_admin_token_guards_every_admin_route_also_included_ones() -> None:
    mock = InProcessMock(Settings(clock="virtual", admin_token="t0ken"))
    try:
        with mock.client() as http:
            for method, path in (("GET", "/__admin/remote"), ("PUT", "/__admin/remote"),
                                 ("DELETE", "/__admin/remote"), ("GET", "/__admin/tasks"),
                                 ("GET", "/__admin/files/evictions")):
                assert http.request(method, path).status_code == 401, path
            assert http.get("/__admin/remote",
                            headers={"Authorization": "Bearer t0ken"}).status_code == 200
    finally:
        mock.close()
