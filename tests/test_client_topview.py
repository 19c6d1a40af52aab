"""The Topview reference client (client/topview.py) and its shared helpers (client/_common.py),
against the mock: in-process, over a real socket and through respx on the real host."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from bgmock.client._common import (
    Backoff,
    MissingCredentials,
    PollTimeout,
    ProviderError,
    apoll,
    credential,
    poll,
)
from bgmock.client.topview import (
    AsyncTopviewClient,
    TopviewClient,
    TopviewError,
    TopviewTaskFailed,
    TopviewTimeout,
    sniff_format,
)
from bgmock.server.core import imaging
from bgmock.server.providers.topview.fixtures import DEMO_API_KEY, DEMO_UID, DOCS_TASKS
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock, MockServer
from PIL import Image

from bgmock import contracts
from tests.harness import answer_check, operations_of
from tests.recording import AsyncRecorder, Recorder
from tests.test_client_product_avatar import (
    exercise_product_avatar,
    exercise_product_avatar_async,
)

SUBMIT_OP = "remove_background_submit"
QUERY_OP = "remove_background_query"
UNKNOWN_TASK = "0123456789abcdef0123456789abcdef"
OPERATIONS = contracts.operations("topview")["operations"]


@cache
def image(fmt: str = "png") -> bytes:
    return imaging.encode(imaging.synthetic_product("seed", 400, 300), fmt)


def open_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# --- recording + contract checks ---------------------------------------------------------


operation_of = operations_of("topview")
check_contract = answer_check("topview")  # validates an answer; returns the schema used


def recorder_of(inner: httpx.BaseTransport) -> Recorder:
    return Recorder(inner, check_contract, operation_of)


def async_recorder_of(inner: httpx.AsyncBaseTransport) -> AsyncRecorder:
    return AsyncRecorder(inner, check_contract, operation_of)


class Sleeper:
    """An injected ``sleep``: records each pause and, given a mock, moves its clock that far."""

    def __init__(self, mock: Any = None) -> None:
        self.mock = mock
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.mock is not None:
            self.mock.advance(seconds)


def has_auth(request: httpx.Request) -> bool:
    return "authorization" in request.headers or "topview-uid" in request.headers


@pytest.fixture
def recorder(bgmock: InProcessMock) -> Recorder:
    return recorder_of(bgmock.transport)


@pytest.fixture
def topview(bgmock: InProcessMock, recorder: Recorder) -> Iterator[TopviewClient]:
    with TopviewClient(DEMO_UID, DEMO_API_KEY, bgmock.url("topview"), transport=recorder) as c:
        yield c


def client_over(handler: Callable[[httpx.Request], httpx.Response]) -> TopviewClient:
    return TopviewClient(
        DEMO_UID, DEMO_API_KEY, "http://fake.test", transport=httpx.MockTransport(handler)
    )


# --- the whole flow ----------------------------------------------------------------------


def assert_cutout(cutout_png: bytes, mask_png: bytes, result: dict[str, Any]) -> None:
    cutout, mask = open_image(cutout_png), open_image(mask_png)
    assert cutout.format == "PNG" and cutout.mode == "RGBA"
    assert cutout.size == (result["bgRemovedImageWidth"], result["bgRemovedImageHeight"])
    assert cutout.width < 400 or cutout.height < 300  # cropped to the subject
    alpha = cutout.getchannel("A").getextrema()
    assert alpha == (0, 255)  # transparent background, opaque subject
    assert mask.size == (400, 300) == (result["maskImageWidth"], result["maskImageHeight"])


def test_flow_in_process(bgmock: InProcessMock, recorder: Recorder, topview: TopviewClient):
    before = topview.credit()
    assert topview.check_notice_url("http://127.0.0.1:9/topview-callback") is True
    file_id = topview.upload(image())
    task_id = topview.remove_background(file_id)
    sleeper = Sleeper(bgmock)
    result = topview.wait(task_id, sleep=sleeper)

    assert result["status"] == "success" and result["taskId"] == task_id
    assert sleeper.calls == [3.0, 4.5]  # the task takes 5 s: polls at 0, 3 and 7.5 s
    cutout = topview.download(result["bgRemovedImagePath"])
    assert_cutout(cutout, topview.download(result["maskImagePath"]), result)
    assert topview.credit() == before - result["costCredit"] == before - 0.5

    # API calls carry the credentials; storage calls (presigned URLs) never do.
    api = [r for r, _ in recorder.exchanges if "/files/" not in r.url.path]
    assert api and all(r.headers["topview-uid"] == DEMO_UID for r in api)
    assert all(r.headers["authorization"] == f"Bearer {DEMO_API_KEY}" for r in api)
    put, *downloads = recorder.storage()
    assert put.method == "PUT" and put.headers["content-type"] == "image/png"
    assert put.content == image() and len(downloads) == 2
    assert not any(has_auth(r) for r in recorder.storage())
    # The parameters the issue specifies.
    (grant,) = recorder.requests("upload_credential")
    assert grant.url.params["format"] == "png"
    assert recorder.requests("upload_check")[0].url.params["fileId"] == file_id
    (submit,) = recorder.requests(SUBMIT_OP)
    assert json.loads(submit.content) == {"productImageFileId": file_id}  # no noticeUrl
    queries = recorder.requests(QUERY_OP)
    assert len(queries) == 3
    assert all(q.url.params["needCloudFrontUrl"] == "false" for q in queries)
    exercise_product_avatar(topview)  # the product-avatar operations (issue 9)
    topview.voices(pageSize=5)
    topview.captions()
    topview.query_product_background(topview.product_background(
        result["bgRemovedImageFileId"], mode="prompt", prompt="a shelf"))
    # Every answer the client saw matched its contract.
    assert {f"{op}.response" for op in OPERATIONS} <= set(recorder.validated)


def test_flow_over_a_real_server(bgmock_server: MockServer):
    bgmock_server.fault("topview", "polls=3", operation=SUBMIT_OP)
    recorder = recorder_of(httpx.HTTPTransport())
    with httpx.Client(transport=recorder) as http:
        with TopviewClient(
            DEMO_UID, DEMO_API_KEY, bgmock_server.url("topview"), http_client=http
        ) as topview:
            task_id = topview.remove_background(
                topview.upload(image("jpg"), format="jpg"), notice_url="https://example.com/hook"
            )
            sleeper = Sleeper()
            result = topview.wait(task_id, sleep=sleeper, cloudfront=True)
            assert sleeper.calls == [3.0, 4.5]  # finished on the third poll
            assert "/files/cf/" in result["bgRemovedImagePath"]  # needCloudFrontUrl=true
            cutout = topview.download(result["bgRemovedImagePath"])
            assert_cutout(cutout, topview.download(result["maskImagePath"]), result)
        assert not http.is_closed  # a client passed in stays the caller's to close
    assert recorder.exchanges[0][0].url.host == "127.0.0.1"
    (submit,) = recorder.requests(SUBMIT_OP)
    assert json.loads(submit.content)["noticeUrl"] == "https://example.com/hook"
    assert recorder.requests(QUERY_OP)[0].url.params["needCloudFrontUrl"] == "true"
    assert f"{QUERY_OP}.response" in recorder.validated
    assert len(bgmock_server.journal("topview", QUERY_OP)) == 3


def test_flow_through_respx_on_the_real_host(bgmock: InProcessMock, bgmock_routes: Any):
    bgmock.fault("topview", "polls=2", operation=SUBMIT_OP)
    with TopviewClient(DEMO_UID, DEMO_API_KEY) as topview:  # default base_url
        assert topview.base_url == "https://api.topview.ai"
        result = topview.remove_background_and_wait(topview.upload(image()), sleep=Sleeper())
        cutout = topview.download(result["bgRemovedImagePath"])
        assert_cutout(cutout, topview.download(result["maskImagePath"]), result)
    calls = list(bgmock_routes.calls)
    assert {c.request.url.host for c in calls} == {"api.topview.ai"}
    assert [c.request.method for c in calls if "/files/" in c.request.url.path] == [
        "PUT",
        "GET",
        "GET",
    ]
    checked = {check_contract(c.request, c.response) for c in calls}
    assert f"{SUBMIT_OP}.response" in checked and f"{QUERY_OP}.response" in checked


def test_a_finished_task_needs_no_sleep(topview: TopviewClient):
    sleeper = Sleeper()
    result = topview.wait(DOCS_TASKS[0].task_id, sleep=sleeper)
    assert result["status"] == "success" and sleeper.calls == []


# --- credentials -------------------------------------------------------------------------


def test_credentials_from_the_environment(
    bgmock: InProcessMock, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TOPVIEW_UID", DEMO_UID)
    monkeypatch.setenv("TOPVIEW_API_KEY", DEMO_API_KEY)
    with TopviewClient(base_url=bgmock.url("topview"), transport=recorder) as topview:
        assert topview.credit() == 1000.0
    (request,) = recorder.requests("credit_detail")
    assert request.headers["topview-uid"] == DEMO_UID
    assert request.headers["authorization"] == f"Bearer {DEMO_API_KEY}"


def test_arguments_win_over_the_environment(bgmock: InProcessMock, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TOPVIEW_UID", "someone-else")
    monkeypatch.setenv("TOPVIEW_API_KEY", "sk-someone-else")
    with TopviewClient(
        DEMO_UID, DEMO_API_KEY, bgmock.url("topview"), transport=bgmock.transport
    ) as topview:
        assert topview.credit() == 1000.0


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "TOPVIEW_UID"),
        ({"TOPVIEW_UID": DEMO_UID}, "TOPVIEW_API_KEY"),
        ({"TOPVIEW_UID": "", "TOPVIEW_API_KEY": DEMO_API_KEY}, "TOPVIEW_UID"),
    ],
)
def test_missing_credentials(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], missing: str):
    monkeypatch.delenv("TOPVIEW_UID", raising=False)
    monkeypatch.delenv("TOPVIEW_API_KEY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(MissingCredentials, match=missing):
        TopviewClient()
    with pytest.raises(ValueError, match=missing):  # MissingCredentials is a ValueError
        AsyncTopviewClient()


def test_unknown_credentials_are_a_401(bgmock: InProcessMock, recorder: Recorder):
    stranger = TopviewClient("nobody", "sk-nothing", bgmock.url("topview"), transport=recorder)
    with stranger, pytest.raises(TopviewError) as caught:
        stranger.credit()
    assert caught.value.code == "401" and caught.value.status == 200
    assert caught.value.message == "Unauthorized, need to login again"
    assert "401" in str(caught.value)
    assert recorder.validated == ["error.response"]


# --- formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("shoe.png", "png", "png"),
        ("SHOE.JPG", "jpg", "jpg"),
        ("shoe.jpeg", "jpeg", "jpeg"),
        ("shoe.webp", "webp", "webp"),
        ("shoe.bmp", "bmp", "bmp"),
        ("shoe.dat", "jpg", "jpg"),  # unknown suffix: the content decides
    ],
)
def test_format_from_the_path(
    topview: TopviewClient, recorder: Recorder, tmp_path: Path, name: str, fmt: str, expected: str
):
    path = tmp_path / name
    path.write_bytes(image(fmt))
    assert len(topview.upload(path)) == 32
    assert topview.upload(str(path))  # str paths too
    assert recorder.requests("upload_credential")[0].url.params["format"] == expected
    assert recorder.storage()[0].content == image(fmt)
    mime = "image/jpeg" if expected in ("jpg", "jpeg") else f"image/{expected}"
    assert recorder.storage()[0].headers["content-type"] == mime


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("png", "png"), ("jpg", "jpg"), ("jpeg", "jpg"), ("webp", "webp"), ("bmp", "bmp")],
)
def test_format_sniffed_from_bytes(
    topview: TopviewClient, recorder: Recorder, fmt: str, expected: str
):
    topview.upload(image(fmt))
    assert recorder.requests("upload_credential")[0].url.params["format"] == expected
    assert sniff_format(image(fmt)) == expected


def test_an_explicit_format_wins_and_is_lower_cased(
    topview: TopviewClient, recorder: Recorder, tmp_path: Path
):
    path = tmp_path / "shoe.png"
    path.write_bytes(image("jpg"))
    topview.upload(path, format="JPEG")
    topview.upload(bytearray(image("png")), format=".PNG")
    assert [r.url.params["format"] for r in recorder.requests("upload_credential")] == [
        "jpeg",
        "png",
    ]


def test_an_unknown_format_fails_before_any_request(
    topview: TopviewClient, recorder: Recorder, tmp_path: Path
):
    with pytest.raises(ValueError, match="format="):
        topview.upload(b"just some text")
    path = tmp_path / "notes.txt"
    path.write_bytes(b"just some text")
    with pytest.raises(ValueError, match=r"notes\.txt"):
        topview.upload(path)
    assert recorder.exchanges == []


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "mov"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "m4a"),
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", "wav"),
        (b"RIFF\x24\x08\x00\x00AVI LIST", "avi"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64\x00\x00\x00\x00", "mp3"),
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"", None),
    ],
)
def test_sniff_format_other_kinds(head: bytes, expected: str | None):
    assert sniff_format(head) == expected


# --- error mapping -----------------------------------------------------------------------


def test_business_error_envelope(bgmock: InProcessMock, topview: TopviewClient, recorder: Recorder):
    file_id = topview.upload(image())
    bgmock.fault("topview", "error=4100", operation=SUBMIT_OP, count=1)
    with pytest.raises(TopviewError) as caught:
        topview.remove_background(file_id)
    assert (caught.value.code, caught.value.message) == ("4100", "Credit not enough")
    assert caught.value.status == 200 and isinstance(caught.value, ProviderError)
    # The same code when it really happens.
    bgmock.set_account("topview", DEMO_UID, credits=0)
    with pytest.raises(TopviewError) as caught:
        topview.remove_background(file_id)
    assert caught.value.code == "4100"
    assert recorder.validated[-2:] == ["error.response", "error.response"]


def test_unknown_task_is_4004_and_wait_does_not_swallow_it(topview: TopviewClient):
    with pytest.raises(TopviewError) as caught:
        topview.query_remove_background(UNKNOWN_TASK)
    assert caught.value.code == "4004"
    sleeper = Sleeper()
    with pytest.raises(TopviewError, match="4004"):
        topview.wait(UNKNOWN_TASK, sleep=sleeper)
    assert sleeper.calls == []


def test_an_error_while_waiting_propagates(bgmock: InProcessMock, topview: TopviewClient):
    task_id = topview.remove_background(DOCS_TASKS[0].source_id)
    bgmock.fault("topview", "error=5003", operation=QUERY_OP, count=2)
    with pytest.raises(TopviewError) as caught:
        topview.wait(task_id, sleep=Sleeper(bgmock))
    assert caught.value.code == "5003"


def test_parameter_errors_come_back_as_codes(topview: TopviewClient):
    with pytest.raises(TopviewError) as caught:
        topview.remove_background("")
    assert caught.value.code == "4003"
    with pytest.raises(TopviewError) as caught:
        topview.upload(image(), format="gif")
    assert caught.value.code in ("4000", "4001")


def test_non_2xx_with_an_envelope_keeps_its_code(bgmock: InProcessMock, recorder: Recorder):
    wrong = bgmock.url("topview") + "/v0"  # no such path at Topview
    topview = TopviewClient(DEMO_UID, DEMO_API_KEY, wrong, transport=recorder)
    with topview, pytest.raises(TopviewError) as caught:
        topview.credit()
    assert (caught.value.code, caught.value.status) == ("404", 404)
    assert caught.value.message == "Not Found"
    assert recorder.validated == ["error.response"]


def test_non_2xx_without_an_envelope_uses_the_status(bgmock: InProcessMock, topview: TopviewClient):
    bgmock.fault("topview", "error=9999", operation="credit_detail")  # the mock refuses: 400
    with pytest.raises(TopviewError) as caught:
        topview.credit()
    assert (caught.value.code, caught.value.status) == ("400", 400)
    assert "bgmockError" in caught.value.message

    def bad_gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html><body>Bad Gateway</body></html>")

    with client_over(bad_gateway) as broken, pytest.raises(TopviewError) as caught:
        broken.credit()
    assert (caught.value.code, caught.value.status) == ("502", 502)
    assert "Bad Gateway" in caught.value.message


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="OK"),
        httpx.Response(200, json=["not", "an", "envelope"]),
    ],
)
def test_2xx_that_is_not_an_envelope(answer: httpx.Response):
    with client_over(lambda request: answer) as odd, pytest.raises(TopviewError) as caught:
        odd.credit()
    assert caught.value.code == "200"
    assert "not a Topview answer" in caught.value.message


def test_upload_put_failure_uses_the_s3_code():
    mock = InProcessMock(Settings(clock="virtual", max_upload_bytes=1000))
    try:
        topview = TopviewClient(
            DEMO_UID, DEMO_API_KEY, mock.url("topview"), transport=mock.transport
        )
        with topview, pytest.raises(TopviewError) as caught:
            topview.upload(image())
    finally:
        mock.close()
    assert (caught.value.code, caught.value.status) == ("EntityTooLarge", 400)
    assert "maximum allowed size" in caught.value.message


class Meddler(httpx.BaseTransport):
    """Answers storage PUTs itself (``put_answer``); everything else goes to ``inner``."""

    def __init__(self, inner: httpx.BaseTransport, put_answer: httpx.Response) -> None:
        self.inner, self.put_answer = inner, put_answer

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return self.put_answer
        return self.inner.handle_request(request)


def test_upload_put_failure_without_xml(bgmock: InProcessMock):
    meddler = Meddler(bgmock.transport, httpx.Response(503, text="Slow Down"))
    with (
        TopviewClient(DEMO_UID, DEMO_API_KEY, bgmock.url("topview"), transport=meddler) as topview,
        pytest.raises(TopviewError) as caught,
    ):
        topview.upload(image())
    assert (caught.value.code, caught.value.message) == ("503", "Slow Down")


def test_an_upload_the_check_denies_is_an_error(bgmock: InProcessMock):
    meddler = Meddler(bgmock.transport, httpx.Response(200))  # bytes never arrive
    with (
        TopviewClient(DEMO_UID, DEMO_API_KEY, bgmock.url("topview"), transport=meddler) as topview,
        pytest.raises(TopviewError) as caught,
    ):
        topview.upload(image())
    assert caught.value.code == "upload_unconfirmed"


def test_expired_result_urls_and_fresh_ones(bgmock: InProcessMock, topview: TopviewClient):
    task_id = DOCS_TASKS[1].task_id
    url = topview.query_remove_background(task_id)["bgRemovedImagePath"]
    assert open_image(topview.download(url)).mode == "RGBA"
    bgmock.advance(86400 + 1)  # S3 URLs live a day
    with pytest.raises(TopviewError) as caught:
        topview.download(url)
    assert (caught.value.code, caught.value.status) == ("AccessDenied", 403)
    fresh = topview.query_remove_background(task_id)["bgRemovedImagePath"]  # signed anew
    assert open_image(topview.download(fresh)).mode == "RGBA"


# --- waiting: failure, timeout, backoff ----------------------------------------------------


def test_a_failed_task_raises(bgmock: InProcessMock, topview: TopviewClient):
    bgmock.fault("topview", "fail=boom", operation=SUBMIT_OP)
    task_id = topview.remove_background(DOCS_TASKS[0].source_id)
    with pytest.raises(TopviewTaskFailed) as caught:
        topview.wait(task_id, sleep=Sleeper(bgmock))
    failed = caught.value
    assert isinstance(failed, TopviewError)
    assert (failed.code, failed.message, failed.task_id) == ("fail", "boom", task_id)
    assert failed.result["status"] == "fail" and failed.result["errorMsg"] == "boom"
    with pytest.raises(TopviewTaskFailed, match="boom"):
        topview.remove_background_and_wait(DOCS_TASKS[0].source_id, sleep=Sleeper(bgmock))


def test_timeout_names_the_last_status(
    bgmock: InProcessMock, topview: TopviewClient, recorder: Recorder
):
    bgmock.fault("topview", "stuck", operation=SUBMIT_OP)
    task_id = topview.remove_background(DOCS_TASKS[0].source_id)
    sleeper = Sleeper(bgmock)  # the mock's clock moves, the task stays stuck
    with pytest.raises(TopviewTimeout) as caught:
        topview.wait(task_id, timeout=20, interval=1, max_interval=4, backoff=2, sleep=sleeper)
    assert isinstance(caught.value, TimeoutError)
    assert sleeper.calls == [1, 2, 4, 4, 4, 4, 1]  # grows, is capped, stops at the deadline
    assert sum(sleeper.calls) == 20
    assert len(recorder.requests(QUERY_OP)) == len(sleeper.calls) + 1  # one poll at the end
    assert caught.value.status == "running" and caught.value.task_id == task_id
    assert caught.value.last["status"] == "running"
    assert "'running'" in str(caught.value) and task_id in str(caught.value)


def test_backoff_grows_and_is_capped(bgmock: InProcessMock, topview: TopviewClient):
    bgmock.fault("topview", "polls=6", operation=SUBMIT_OP)
    task_id = topview.remove_background(DOCS_TASKS[0].source_id)
    sleeper = Sleeper()
    result = topview.wait(
        task_id, timeout=None, interval=1, max_interval=3, backoff=1.5, sleep=sleeper
    )
    assert result["status"] == "success"
    assert sleeper.calls == [1, 1.5, 2.25, 3, 3]


def test_zero_timeout_polls_once(bgmock: InProcessMock, topview: TopviewClient, recorder: Recorder):
    task_id = topview.remove_background(DOCS_TASKS[0].source_id)
    with pytest.raises(TopviewTimeout, match="'init'"):
        topview.wait(task_id, timeout=0, sleep=Sleeper())
    assert len(recorder.requests(QUERY_OP)) == 1


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"interval": 0}, "interval"),
        ({"max_interval": 1, "interval": 2}, "max_interval"),
        ({"backoff": 0.5}, "backoff"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_bad_wait_settings(topview: TopviewClient, kwargs: dict[str, float], problem: str):
    with pytest.raises(ValueError, match=problem):
        topview.wait(DOCS_TASKS[0].task_id, sleep=Sleeper(), **kwargs)


# --- client lifecycle --------------------------------------------------------------------


def test_lifecycle(bgmock: InProcessMock):
    with TopviewClient(DEMO_UID, DEMO_API_KEY, transport=bgmock.transport) as topview:
        assert not topview.http.is_closed
        assert DEMO_API_KEY not in repr(topview)
    assert topview.http.is_closed  # the client it made is closed with it
    with pytest.raises(ValueError, match="not both"):
        TopviewClient(
            DEMO_UID, DEMO_API_KEY, transport=bgmock.transport, http_client=httpx.Client()
        )
    topview = TopviewClient(DEMO_UID, DEMO_API_KEY, "https://api.topview.ai/", timeout=7)
    assert topview.base_url == "https://api.topview.ai"
    assert topview.http.timeout == httpx.Timeout(7)
    topview.close()


# --- the shared helpers ------------------------------------------------------------------


def test_poll_counts_real_time_too():
    now = [0.0]

    def fetch() -> str:
        now[0] += 10  # every call takes 10 s of (fake) clock time
        return "running"

    sleeps: list[float] = []
    with pytest.raises(PollTimeout) as caught:
        poll(
            fetch,
            lambda s: s == "done",
            timeout=25,
            backoff=Backoff(1, 1, 1),
            sleep=sleeps.append,
            clock=lambda: now[0],
        )
    assert sleeps == [1, 1] and caught.value.elapsed == 30 and caught.value.last == "running"


def test_poll_without_timeout_keeps_going():
    states = iter(["a"] * 50 + ["done"])
    sleeps: list[float] = []
    assert (
        poll(
            lambda: next(states),
            lambda s: s == "done",
            timeout=None,
            backoff=Backoff(2, 5, 3),
            sleep=sleeps.append,
        )
        == "done"
    )
    assert sleeps == [2, 5] + [5] * 48


def test_apoll():
    states = iter(["a", "b", "done"])
    sleeps: list[float] = []

    async def fetch() -> str:
        return next(states)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> str:
        return await apoll(fetch, lambda s: s == "done", timeout=60, sleep=sleep)

    assert asyncio.run(main()) == "done" and sleeps == [3.0, 4.5]


def test_credential_and_provider_error():
    assert credential("given", "X_TOKEN", what="token", env={"X_TOKEN": "env"}) == "given"
    assert credential(None, "X_TOKEN", what="token", env={"X_TOKEN": "env"}) == "env"
    with pytest.raises(MissingCredentials, match=r"no token.*\$X_TOKEN"):
        credential("", "X_TOKEN", what="token", env={})
    error = ProviderError("E1", "broken", status=500)
    assert (error.code, error.message, error.status, str(error)) == (
        "E1",
        "broken",
        500,
        "error E1: broken",
    )
    assert (
        str(TopviewError("4004", "Resource not found!"))
        == "topview error 4004: Resource not found!"
    )


# --- async -------------------------------------------------------------------------------


def run_async(test: Callable[[InProcessMock, AsyncRecorder], Any]) -> None:
    """A fresh in-process mock whose app only ever sees this test's event loop."""
    mock = InProcessMock()
    recorder = async_recorder_of(mock.async_transport)
    try:
        asyncio.run(test(mock, recorder))
    finally:
        mock.close()


def test_async_flow():
    async def flow(mock: InProcessMock, recorder: AsyncRecorder) -> None:
        admin = mock.async_client()
        slept: list[float] = []

        async def sleep(seconds: float) -> None:  # moves the clock from this loop
            slept.append(seconds)
            (
                await admin.post("/__admin/clock/advance", json={"seconds": seconds})
            ).raise_for_status()

        async with AsyncTopviewClient(
            DEMO_UID, DEMO_API_KEY, mock.url("topview"), transport=recorder
        ) as topview:
            before = await topview.credit()
            assert await topview.check_notice_url("https://app.example/topview") is True
            file_id = await topview.upload(image())
            task_id = await topview.remove_background(file_id)
            result = await topview.wait(task_id, sleep=sleep)
            assert result["status"] == "success" and slept == [3.0, 4.5]
            assert_cutout(
                await topview.download(result["bgRemovedImagePath"]),
                await topview.download(result["maskImagePath"]),
                result,
            )
            assert await topview.credit() == before - 0.5
            again = await topview.query_remove_background(task_id, cloudfront=True)
            assert "/files/cf/" in again["bgRemovedImagePath"]
            assert open_image(await topview.download(again["bgRemovedImagePath"])).mode == "RGBA"
            await exercise_product_avatar_async(topview)  # no downloads (issue 9)
            await topview.voices(pageSize=5)
            await topview.captions()
            await topview.query_product_background(await topview.product_background(
                result["bgRemovedImageFileId"], mode="prompt", prompt="a shelf"))
        assert topview.http.is_closed
        await admin.aclose()
        storage = [r for r, _ in recorder.sync.exchanges if "/files/" in r.url.path]
        assert [r.method for r in storage] == ["PUT", "GET", "GET", "GET"]
        assert not any(has_auth(r) for r in storage)
        assert {f"{op}.response" for op in OPERATIONS} <= set(recorder.validated)

    run_async(flow)


def test_async_errors_failure_and_timeout():
    async def errors(mock: InProcessMock, recorder: AsyncRecorder) -> None:
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        async with httpx.AsyncClient(transport=recorder) as http:
            topview = AsyncTopviewClient(
                DEMO_UID, DEMO_API_KEY, mock.url("topview"), http_client=http
            )
            with pytest.raises(TopviewError) as caught:
                await topview.query_remove_background(UNKNOWN_TASK)
            assert caught.value.code == "4004"

            mock.fault("topview", "stuck", operation=SUBMIT_OP, count=1)
            task_id = await topview.remove_background(DOCS_TASKS[0].source_id)
            with pytest.raises(TopviewTimeout) as timeout:
                await topview.wait(task_id, timeout=10, interval=2, max_interval=5, sleep=sleep)
            assert timeout.value.status == "init" and slept == [2, 3, 4.5, 0.5]

            mock.fault("topview", "fail=nope;polls=1", operation=SUBMIT_OP, count=1)
            with pytest.raises(TopviewTaskFailed, match="nope"):
                await topview.remove_background_and_wait(DOCS_TASKS[0].source_id, sleep=sleep)

            with pytest.raises(TopviewError) as caught:
                await AsyncTopviewClient("x", "y", mock.url("topview"), http_client=http).credit()
            assert caught.value.code == "401"
            await topview.close()
            assert not http.is_closed
        assert recorder.validated.count("error.response") == 2

    run_async(errors)
