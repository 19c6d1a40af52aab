"""The Runware reference client (client/runware.py) against the mock: in-process, over a real
socket and through respx on the real host, sync and async; every error the client surfaces,
and transport failures through respx. Every answer the client sees is checked against the
contracts by the client itself (strict mode) and again by the recorder."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from bgmock.client._common import MissingCredentials, ProviderError
from bgmock.client.runware import (
    DEFAULT_BASE_URL,
    UNEXPECTED,
    AsyncRunwareClient,
    RunwareClient,
    RunwareError,
    RunwareTimeout,
    TaskResult,
    data_uri,
    image_value,
)
from bgmock.server.core import imaging
from bgmock.server.testing import InProcessMock, MockServer
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bgmock import contracts
from tests.recording import AsyncRecorder, Recorder
from tests.test_client_topview import Sleeper

KEY = "runware-demo-key"  # R27
FAKE = "http://fake.test/v1"


@cache
def photo(side: int = 96, fmt: str = "png") -> bytes:
    return imaging.encode(imaging.synthetic_product("runware", side, side), fmt)


def open_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def assert_cutout(data: bytes, fmt: str = "PNG", side: int = 96) -> None:
    img = open_image(data)
    assert img.format == fmt and img.size == (side, side)
    assert img.mode == "RGBA" and img.getchannel("A").getextrema() == (0, 255)


def is_v4(text: str) -> bool:
    return uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text


# --- recording + contract checks ---------------------------------------------------------


def tasks_of(request: httpx.Request) -> list[dict[str, Any]]:
    return json.loads(request.content)


def posts(recorder: Recorder) -> list[httpx.Request]:
    """The API calls (downloads of /image/ii/ URLs are GETs)."""
    return [r for r, _ in recorder.exchanges if r.method == "POST"]


def operation_of(request: httpx.Request) -> str | None:
    """The contract operation of a request's (only) task."""
    if request.method != "POST":
        return None
    (task,) = tasks_of(request)
    for name, op in contracts.operations("runware")["operations"].items():
        if op.get("select", {}).get("value") == task["taskType"]:
            return name
    return None


def check(request: httpx.Request, response: httpx.Response) -> str | None:
    """API answers validated against their contract; downloads are not API calls."""
    if request.method != "POST":
        return None
    return contracts.check_response("runware", operation_of(request), response.json())


def recorder_of(inner: httpx.BaseTransport) -> Recorder:
    return Recorder(inner, check, operation_of)


def async_recorder_of(inner: httpx.AsyncBaseTransport) -> AsyncRecorder:
    return AsyncRecorder(inner, check, operation_of)


@pytest.fixture
def recorder(bgmock: InProcessMock) -> Recorder:
    return recorder_of(bgmock.transport)


def endpoint(mock: Any) -> str:
    return f"{mock.url('runware')}/v1"


@pytest.fixture
def runware(bgmock: InProcessMock, recorder: Recorder) -> Iterator[RunwareClient]:
    with RunwareClient(KEY, endpoint(bgmock), transport=recorder) as client:
        yield client


@dataclass
class Reached:
    """The mock (its admin controls) and a way to make clients on it: in-process, or over a
    real socket to the session's server."""

    mock: Any
    transport: httpx.BaseTransport

    def client(self, key: str = KEY) -> RunwareClient:
        return RunwareClient(key, endpoint(self.mock), transport=self.transport)


@pytest.fixture(params=["inprocess", "server"])
def reached(request: pytest.FixtureRequest) -> Iterator[Reached]:
    if request.param == "inprocess":
        mock = request.getfixturevalue("bgmock")
        yield Reached(mock, recorder_of(mock.transport))
    else:
        transport = recorder_of(httpx.HTTPTransport())
        yield Reached(request.getfixturevalue("bgmock_server"), transport)
        transport.inner.close()


def client_over(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> RunwareClient:
    return RunwareClient(KEY, FAKE, transport=httpx.MockTransport(handler), **kw)


def removal_op() -> str:
    return next(name for name, op in contracts.operations("runware")["operations"].items()
                if op.get("select", {}).get("value") == "removeBackground")


# --- the whole flow ----------------------------------------------------------------------


def test_flow_in_process(bgmock: InProcessMock, recorder: Recorder, runware: RunwareClient):
    image_uuid = runware.upload(photo())
    assert is_v4(image_uuid)
    result = runware.remove_background(image_uuid, output_format="PNG", include_cost=True)
    assert isinstance(result, TaskResult) and result.finished and result.status == "success"
    assert result.task_type == "removeBackground" and is_v4(result.task_uuid)
    assert result.image_uuid and result.input_image_uuid == image_uuid
    assert result.cost == pytest.approx(0.0006)  # R15
    assert result.image_url and f"/image/ii/{result.image_uuid}.png?" in result.image_url
    assert_cutout(runware.download(result.image_url))
    # every API call carries the key as a bearer header and one task in an array
    upload, removal = posts(recorder)[:2]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in (upload, removal))
    (task,) = tasks_of(upload)
    assert task["taskType"] == "imageUpload" and is_v4(task["taskUUID"])
    assert task["image"] == data_uri(photo()) and task["image"].startswith("data:image/png;")
    assert tasks_of(removal) == [{"taskType": "removeBackground",
                                  "taskUUID": result.task_uuid, "inputImage": image_uuid,
                                  "outputFormat": "PNG", "includeCost": True}]
    # the download is no API call: no key
    (download,) = [r for r, _ in recorder.exchanges if r.method == "GET"]
    assert "authorization" not in download.headers
    # the same task through getResponse (R19: sync tasks too)
    again = runware.get_response(result.task_uuid)
    assert again.finished and again.image_uuid == result.image_uuid
    assert again.task_type == "removeBackground"
    assert recorder.validated == ["image_upload.response", "remove_background.response",
                                  "get_response.response"]  # every API answer, checked


def test_flow_over_a_real_server(bgmock_server: MockServer):
    recorder = recorder_of(httpx.HTTPTransport())
    with httpx.Client(transport=recorder) as http:
        with RunwareClient(KEY, endpoint(bgmock_server), http_client=http) as runware:
            result = runware.remove_background(photo(), output_type="URL", include_cost=True)
            assert_cutout(runware.download(result.image_url))
            accepted = runware.remove_background(photo(), delivery="async")
            assert accepted.status == "processing" and accepted.image_uuid is None
            done = runware.wait(accepted.task_uuid, sleep=Sleeper(bgmock_server))
            assert done.finished and done.task_uuid == accepted.task_uuid
            assert_cutout(runware.download(done.image_url))
        assert not http.is_closed  # a client passed in stays the caller's to close
    assert recorder.exchanges[0][0].url.host == "127.0.0.1"
    assert tasks_of(recorder.requests(removal_op())[1])[0]["deliveryMethod"] == "async"
    assert len(recorder.validated) >= 4


def test_flow_through_respx_on_the_real_host(bgmock: InProcessMock, bgmock_routes: Any):
    with RunwareClient(KEY) as runware:  # default base_url, reached through Host routing
        assert runware.base_url == DEFAULT_BASE_URL
        result = runware.remove_background(runware.upload(photo()))
        assert_cutout(runware.download(result.image_url))
    calls = list(bgmock_routes.calls)
    assert calls[0].request.url == httpx.URL("https://api.runware.ai/v1")
    assert [c.request.method for c in calls] == ["POST", "POST", "GET"]


@pytest.mark.parametrize(("output_type", "fmt"),
                         [("base64Data", "PNG"), ("dataURI", "WEBP"), ("dataURI", "JPG")])
def test_inline_outputs(runware: RunwareClient, output_type: str, fmt: str):
    result = runware.remove_background(photo(), output_type=output_type, output_format=fmt)
    assert result.image_url is None
    data = result.image_bytes()
    assert data is not None
    img = open_image(data)
    assert img.format == {"JPG": "JPEG"}.get(fmt, fmt) and img.size == (96, 96)
    if output_type == "dataURI":
        mime = {"JPG": "jpeg"}.get(fmt, fmt.lower())
        assert result.image_data_uri.startswith(f"data:image/{mime};base64,")
    else:
        assert result.image_base64_data


def test_settings_nested_and_legacy(runware: RunwareClient, recorder: Recorder):
    settings = {"rgba": [255, 255, 255, 1], "returnOnlyMask": False}  # alpha 0..1
    result = runware.remove_background(photo(), settings=settings, model="runware:109@1")
    img = open_image(runware.download(result.image_url))
    assert img.convert("RGBA").getpixel((0, 0)) == (255, 255, 255, 255)  # filled white
    legacy = runware.remove_background(photo(), settings={"returnOnlyMask": True},
                                       legacy=True, output_type="base64Data")
    assert legacy.task_type == "imageBackgroundRemoval"
    mask = open_image(legacy.image_bytes())
    assert mask.convert("L").getextrema() == (0, 255)
    nested, flat = (tasks_of(r)[0] for r in posts(recorder)[-2:])
    assert nested["settings"] == settings and nested["model"] == "runware:109@1"
    assert flat["taskType"] == "imageBackgroundRemoval" and flat["returnOnlyMask"] is True
    assert "settings" not in flat


def test_images_from_paths_strings_and_urls(runware: RunwareClient, recorder: Recorder,
                                            tmp_path: Path):
    path = tmp_path / "shoe.jpg"
    path.write_bytes(photo(fmt="jpg"))
    first = runware.upload(path)
    second = runware.upload(str(path))
    third = runware.upload(data_uri(photo()))
    fourth = runware.upload(base64.b64encode(photo()).decode())  # raw base64
    fifth = runware.upload("https://example.com/product.png")  # offline: synthetic (C7)
    assert len({first, second, third, fourth, fifth}) == 5
    images = [tasks_of(r)[0]["image"] for r in posts(recorder)]
    assert images[0] == images[1] == data_uri(photo(fmt="jpg"))
    assert images[0].startswith("data:image/jpeg;base64,")
    assert images[2:] == [data_uri(photo()), base64.b64encode(photo()).decode(),
                          "https://example.com/product.png"]
    result = runware.remove_background(fifth)
    assert result.input_image_uuid == fifth


def test_a_given_task_uuid_is_sent(runware: RunwareClient, recorder: Recorder):
    mine = str(uuid.uuid4())
    assert runware.remove_background(photo(), task_uuid=mine).task_uuid == mine
    assert tasks_of(posts(recorder)[-1])[0]["taskUUID"] == mine


def test_a_webhook_task_is_acknowledged_and_polled(bgmock: InProcessMock,
                                                   runware: RunwareClient, recorder: Recorder):
    accepted = runware.remove_background(photo(), webhook_url="http://127.0.0.1:9/hook",
                                         output_quality=80, output_format="WEBP")
    assert accepted.status == "processing" and accepted.image_url is None  # R21
    assert tasks_of(posts(recorder)[0])[0] == {
        "taskType": "removeBackground", "taskUUID": accepted.task_uuid,
        "inputImage": data_uri(photo()), "webhookURL": "http://127.0.0.1:9/hook",
        "outputQuality": 80, "outputFormat": "WEBP"}
    result = runware.wait(accepted.task_uuid, sleep=Sleeper(bgmock))
    assert open_image(runware.download(result.image_url)).format == "WEBP"


# --- async delivery and waiting ------------------------------------------------------------


def test_wait_polls_get_response_on_the_mock_clock(bgmock: InProcessMock, runware: RunwareClient,
                                                   recorder: Recorder):
    accepted = runware.remove_background(photo(), delivery="async", include_cost=True)
    assert (accepted.status, accepted.finished, accepted.image_bytes()) == ("processing",
                                                                            False, None)
    sleeper = Sleeper(bgmock)
    result = runware.wait(accepted.task_uuid, sleep=sleeper)
    assert result.finished and result.cost == pytest.approx(0.0006)
    assert sleeper.calls == [1.0, 1.5]  # processing for 2 s of mock time (D194)
    polls = [tasks_of(r)[0] for r in posts(recorder)[1:]]
    assert polls == [{"taskType": "getResponse", "taskUUID": accepted.task_uuid}] * len(polls)
    assert len(polls) == len(sleeper.calls) + 1
    assert_cutout(runware.download(result.image_url))


def test_a_finished_task_needs_no_sleep(runware: RunwareClient):
    done = runware.remove_background(photo())
    sleeper = Sleeper()
    assert runware.wait(done.task_uuid, sleep=sleeper).image_uuid == done.image_uuid
    assert sleeper.calls == []


def test_wait_times_out_with_the_last_state(bgmock: InProcessMock, runware: RunwareClient):
    bgmock.fault("runware", "stuck", operation=removal_op(), count=1)
    accepted = runware.remove_background(photo(), delivery="async")
    sleeper = Sleeper()
    with pytest.raises(RunwareTimeout) as caught:
        runware.wait(accepted.task_uuid, timeout=10, interval=2, max_interval=5, sleep=sleeper)
    assert caught.value.last.status == "processing" and sleeper.calls == [2, 3, 4.5, 0.5]
    assert caught.value.task_uuid == accepted.task_uuid and isinstance(caught.value, TimeoutError)


def test_a_failed_task_raises_while_waiting(bgmock: InProcessMock, runware: RunwareClient):
    bgmock.fault("runware", "fail=provider gave up", operation=removal_op(), count=1)
    accepted = runware.remove_background(photo(), delivery="async")
    with pytest.raises(RunwareError) as caught:
        runware.wait(accepted.task_uuid, sleep=Sleeper(bgmock))
    assert caught.value.task_uuid == accepted.task_uuid
    assert caught.value.item.get("status") == "error"


# --- errors the mock answers, each surfaced with Runware's fields ----------------------------


def raised(call: Callable[[], Any]) -> RunwareError:
    with pytest.raises(RunwareError) as caught:
        call()
    return caught.value


def test_invalid_api_key(reached: Reached):
    with reached.client("not-a-key") as stranger:
        error = raised(lambda: stranger.upload(photo()))
    assert (error.code, error.status) == ("invalidApiKey", 401)
    assert "Invalid API key" in error.message and isinstance(error, ProviderError)
    assert str(error).startswith("runware error invalidApiKey: ")


def test_validation_errors(reached: Reached):
    runware = reached.client()
    mine = str(uuid.uuid4())
    runware.remove_background(photo(), task_uuid=mine)
    cases = {
        "conflictTaskUUID": lambda: runware.remove_background(photo(), task_uuid=mine),
        "invalidTaskUUID": lambda: runware.remove_background(photo(), task_uuid="not-a-uuid"),
        "unknownParameter": lambda: runware.remove_background(photo(), extra={"colour": 1}),
        "invalidInputImage": lambda: runware.remove_background(str(uuid.uuid4())),
        "unsupportedModel": lambda: runware.remove_background(photo(), model="nobody:1@1"),
        "valueTooLarge": lambda: runware.remove_background(photo(), output_quality=100),
        "valueTooSmall": lambda: runware.remove_background(photo(), output_quality=19),
        "taskNotFound": lambda: runware.get_response(str(uuid.uuid4())),
    }
    for code, call in cases.items():
        error = raised(call)
        assert (error.code, error.status) == (code, 400 if code != "taskNotFound"
                                              else error.status), code
        assert error.message and error.task_type, code
    bad = raised(lambda: runware.remove_background(photo(), task_uuid="not-a-uuid"))
    assert (bad.parameter, bad.task_uuid) == ("taskUUID", "not-a-uuid")
    quality = raised(lambda: runware.remove_background(photo(), output_quality=100))
    assert quality.parameter == "outputQuality" and quality.task_type == "removeBackground"


def test_settings_need_the_default_model(runware: RunwareClient):
    error = raised(lambda: runware.remove_background(
        photo(), model="runware:110@1", settings={"returnOnlyMask": True}))
    assert (error.code, error.parameter) == ("unsupportedParameter", "settings")  # R22


def test_insufficient_credits(reached: Reached):
    reached.mock.set_account("runware", KEY, credits=0)
    error = raised(lambda: reached.client().remove_background(photo()))
    assert (error.code, error.status) == ("insufficientCredits", 402)


@pytest.mark.parametrize(("code", "status"), [("timeoutProvider", 504),
                                              ("rateLimitExceeded", 429),
                                              ("serviceUnavailable", 503)])
def test_fault_rules_reach_the_client(reached: Reached, code: str, status: int):
    runware = reached.client()
    reached.mock.fault("runware", f"error={code}", operation=removal_op(), count=1)
    error = raised(lambda: runware.remove_background(photo()))
    assert (error.code, error.status) == (code, status)
    assert runware.remove_background(photo()).finished  # count=1: used up


# --- answers that are not Runware's, and transport failures ----------------------------------


def test_non_json_status_becomes_the_code():
    runware = client_over(lambda r: httpx.Response(502, text="<html>Bad Gateway</html>"))
    error = raised(lambda: runware.upload(photo()))
    assert (error.code, error.status) == ("502", 502) and "Bad Gateway" in error.message


def test_a_non_2xx_answer_is_never_a_result():
    def handler(request: httpx.Request) -> httpx.Response:
        (task,) = json.loads(request.content)
        return httpx.Response(500, json={"data": [{"taskType": "getResponse",
                                                   "taskUUID": task["taskUUID"],
                                                   "status": "success"}]})

    error = raised(lambda: client_over(handler, strict=False).get_response(str(uuid.uuid4())))
    assert (error.code, error.status) == ("500", 500)


@pytest.mark.parametrize("answer", [httpx.Response(200, json={"ok": True}),
                                    httpx.Response(200, json=[1, 2]),
                                    httpx.Response(200, text="hello")])
def test_a_2xx_that_is_not_runwares(answer: httpx.Response):
    runware = client_over(lambda r: answer)
    error = raised(lambda: runware.get_response(str(uuid.uuid4())))
    assert error.code == "200" and "not a Runware answer" in error.message


def test_an_error_without_task_uuid_raises():
    item = {"code": "missingApiKey", "message": "Missing API key", "parameter": "apiKey",
            "taskType": "authentication"}
    runware = client_over(lambda r: httpx.Response(401, json={"errors": [item]}))
    error = raised(lambda: runware.upload(photo()))
    assert (error.code, error.status, error.task_type) == ("missingApiKey", 401,
                                                           "authentication")
    assert error.task_uuid is None and error.item == item


def test_another_tasks_error_still_raises():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"errors": [{
            "code": "invalidTaskUUID", "message": "no", "taskType": "imageUpload",
            "taskUUID": "someone-elses"}]})

    error = raised(lambda: client_over(handler).upload(photo()))
    assert error.code == "invalidTaskUUID" and error.task_uuid == "someone-elses"


def test_an_answer_without_our_item_is_unexpected():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"taskType": "getResponse",
                                                   "taskUUID": str(uuid.uuid4()),
                                                   "status": "processing"}]})

    error = raised(lambda: client_over(handler, strict=False).get_response(str(uuid.uuid4())))
    assert error.code == UNEXPECTED and "no item" in error.message


def test_strict_mode_checks_answers_against_the_contracts():
    def handler(request: httpx.Request) -> httpx.Response:
        (task,) = json.loads(request.content)
        return httpx.Response(200, json={"data": [{"taskType": "imageUpload",
                                                   "taskUUID": task["taskUUID"],
                                                   "imageUUID": 42}]})

    error = raised(lambda: client_over(handler).upload(photo()))
    assert error.code == UNEXPECTED and "contract" in error.message
    assert client_over(handler, strict=False).upload(photo()) == "42"


def test_an_upload_without_image_uuid_is_unexpected():
    def handler(request: httpx.Request) -> httpx.Response:
        (task,) = json.loads(request.content)
        return httpx.Response(200, json={"data": [{"taskType": "imageUpload",
                                                   "taskUUID": task["taskUUID"]}]})

    error = raised(lambda: client_over(handler, strict=False).upload(photo()))
    assert error.code == UNEXPECTED and error.task_type == "imageUpload"


SAME = "<the task's uuid>"  # replaced by the request's taskUUID in generated answers
SCALARS = (st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False,
                                                                       allow_infinity=False)
           | st.sampled_from(["", "x", SAME, "success", "processing", "error", "0.0006",
                              "invalidApiKey", "removeBackground", "data:image/png;base64,AA"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["x", "status"]), inner, max_size=2),
                      max_leaves=6)
FIELDS = st.sampled_from(["taskType", "taskUUID", "status", "code", "message", "parameter",
                          "imageUUID", "imageURL", "imageBase64Data", "imageDataURI", "cost",
                          "inputImageUUID"])
ITEMS = st.dictionaries(FIELDS, VALUES, max_size=6)
ANSWERS = (st.fixed_dictionaries({}, optional={"data": st.lists(ITEMS, max_size=3) | VALUES,
                                               "errors": st.lists(ITEMS, max_size=3) | VALUES})
           | VALUES)


def _same(value: Any, task_uuid: str) -> Any:
    if value == SAME:
        return task_uuid
    if isinstance(value, list):
        return [_same(v, task_uuid) for v in value]
    if isinstance(value, dict):
        return {k: _same(v, task_uuid) for k, v in value.items()}
    return value


@settings(max_examples=300, deadline=None)
@given(answer=ANSWERS, status=st.sampled_from([200, 201, 400, 401, 402, 404, 429, 500, 503]),
       strict=st.booleans(), call=st.sampled_from(["upload", "get_response", "remove"]))
def test_any_answer_is_a_result_or_a_runware_error(answer: Any, status: int, strict: bool,
                                                   call: str):
    def handler(request: httpx.Request) -> httpx.Response:
        (task,) = json.loads(request.content)
        return httpx.Response(status, json=_same(answer, task["taskUUID"]))

    runware = client_over(handler, strict=strict)
    calls = {"upload": lambda: runware.upload(b"\x89PNG\r\n\x1a\n"),
             "get_response": lambda: runware.get_response(str(uuid.uuid4())),
             "remove": lambda: runware.remove_background(str(uuid.uuid4()))}
    try:
        outcome = calls[call]()
    except RunwareError as error:
        assert error.code and isinstance(error.code, str)
        assert error.status == status
        return
    assert status < 300
    assert isinstance(outcome, str if call == "upload" else TaskResult)


@respx.mock
def test_transport_failures_are_httpx_errors():
    respx.post(DEFAULT_BASE_URL).mock(side_effect=httpx.ConnectError("refused"))
    respx.get("https://im.runware.ai/image/ii/x.png").mock(side_effect=httpx.ReadTimeout("slow"))
    with RunwareClient(KEY) as runware:
        with pytest.raises(httpx.ConnectError):
            runware.upload(photo())
        with pytest.raises(httpx.ReadTimeout):
            runware.download("https://im.runware.ai/image/ii/x.png")

    async def main() -> None:
        async with AsyncRunwareClient(KEY) as runware:
            with pytest.raises(httpx.ConnectError):
                await runware.get_response(str(uuid.uuid4()))

    asyncio.run(main())


@respx.mock
def test_a_refused_download_raises_with_the_status():
    url = "https://im.runware.ai/image/ii/gone.png"
    respx.get(url).mock(return_value=httpx.Response(404, text="Not Found"))
    with RunwareClient(KEY) as runware:
        error = raised(lambda: runware.download(url))
    assert (error.code, error.status) == ("404", 404)


def test_expired_result_urls(bgmock: InProcessMock, runware: RunwareClient):
    result = runware.remove_background(photo(), extra={"ttl": 60})
    assert_cutout(runware.download(result.image_url))
    bgmock.advance(61)
    error = raised(lambda: runware.download(result.image_url))
    assert error.status is not None and error.status >= 400


# --- arguments checked before anything is sent ------------------------------------------------


def test_bad_arguments_fail_before_any_request(runware: RunwareClient, recorder: Recorder,
                                               tmp_path: Path):
    with pytest.raises(ValueError, match="delivery"):
        runware.remove_background(photo(), delivery="later")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        runware.upload(str(tmp_path / "missing.png"))
    with pytest.raises(FileNotFoundError):
        runware.remove_background(tmp_path / "missing.png")
    assert recorder.exchanges == []


def test_image_values():
    uid = str(uuid.uuid4())
    for text in (uid, "https://a.test/x.png", "http://a.test/x", "data:image/png;base64,AAAA",
                 "iVBORw0KGgo=", "HTTPS://A.TEST/X.PNG", "Data:image/png;base64,AAAA"):
        assert image_value(text) == text
    assert image_value(photo()) == data_uri(photo())
    assert image_value(bytearray(photo(fmt="webp"))).startswith("data:image/webp;base64,")
    assert data_uri(b"GIF89a....").startswith("data:image/gif;")
    assert data_uri(b"BM......").startswith("data:image/bmp;")
    assert data_uri(b"????", ".png").startswith("data:image/png;")
    assert data_uri(b"????").startswith("data:application/octet-stream;")
    with pytest.raises(FileNotFoundError):
        image_value("no/such/file.png")


def test_task_result_of_items():
    ack = TaskResult.of({"taskType": "removeBackground", "taskUUID": "u"})
    assert (ack.status, ack.finished, ack.cost) == ("processing", False, None)
    done = TaskResult.of({"taskType": "removeBackground", "taskUUID": "u", "imageUUID": "i",
                          "imageURL": "https://x/i.png", "cost": "0.0006"})
    assert (done.status, done.finished, done.cost) == ("success", True, 0.0006)
    polled = TaskResult.of({"taskType": "removeBackground", "taskUUID": "u",
                            "status": "processing"})
    assert not polled.finished and polled.raw["status"] == "processing"
    inline = TaskResult.of({"taskUUID": "u", "imageDataURI": data_uri(b"abc")})
    assert inline.image_bytes() == b"abc" and inline.task_type == ""


# --- credentials ---------------------------------------------------------------------------


def test_credentials_from_the_environment(bgmock: InProcessMock, recorder: Recorder,
                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RUNWARE_API_KEY", KEY)
    with RunwareClient(base_url=endpoint(bgmock), transport=recorder) as runware:
        runware.upload(photo())
    assert posts(recorder)[0].headers["authorization"] == f"Bearer {KEY}"
    monkeypatch.setenv("RUNWARE_API_KEY", "someone-else")
    with RunwareClient(KEY, endpoint(bgmock), transport=recorder) as runware:
        runware.upload(photo())  # the argument wins
    assert posts(recorder)[1].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("env", [{}, {"RUNWARE_API_KEY": ""}])
def test_missing_credentials(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]):
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(MissingCredentials, match="RUNWARE_API_KEY"):
        RunwareClient()
    with pytest.raises(ValueError, match="RUNWARE_API_KEY"):
        AsyncRunwareClient()


def test_repr_hides_the_key():
    with RunwareClient("secret-key", FAKE) as runware:
        assert "secret-key" not in repr(runware) and FAKE in repr(runware)


# --- async ---------------------------------------------------------------------------------


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
            (await admin.post("/__admin/clock/advance",
                              json={"seconds": seconds})).raise_for_status()

        async with AsyncRunwareClient(KEY, endpoint(mock), transport=recorder) as runware:
            image_uuid = await runware.upload(photo())
            result = await runware.remove_background(image_uuid, include_cost=True)
            assert result.input_image_uuid == image_uuid and result.cost == pytest.approx(0.0006)
            assert_cutout(await runware.download(result.image_url))
            accepted = await runware.remove_background(image_uuid, delivery="async")
            done = await runware.wait(accepted.task_uuid, sleep=sleep)
            assert done.finished and slept == [1.0, 1.5]
            assert (await runware.get_response(result.task_uuid)).finished
            with pytest.raises(RunwareError) as caught:
                await runware.remove_background(image_uuid, output_quality=100)
            assert caught.value.code == "valueTooLarge"
        assert runware.http.is_closed
        await admin.aclose()
        assert len(recorder.validated) == len(
            [r for r, _ in recorder.sync.exchanges if r.method == "POST"])

    run_async(flow)


def test_async_errors_and_timeout():
    async def errors(mock: InProcessMock, recorder: AsyncRecorder) -> None:
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        async with httpx.AsyncClient(transport=recorder) as http:
            runware = AsyncRunwareClient(KEY, endpoint(mock), http_client=http)
            with pytest.raises(RunwareError) as caught:
                await runware.get_response(str(uuid.uuid4()))
            assert caught.value.code == "taskNotFound"
            mock.fault("runware", "stuck", operation=removal_op(), count=1)
            accepted = await runware.remove_background(photo(), delivery="async")
            with pytest.raises(RunwareTimeout):
                await runware.wait(accepted.task_uuid, timeout=3, interval=1, sleep=sleep)
            assert slept == [1, 1.5, 0.5]
            stranger = AsyncRunwareClient("nobody", endpoint(mock), http_client=http)
            with pytest.raises(RunwareError) as caught:
                await stranger.upload(photo())
            assert (caught.value.code, caught.value.status) == ("invalidApiKey", 401)
            await runware.close()
            assert not http.is_closed

    run_async(errors)


def test_async_over_a_real_server(bgmock_server: MockServer):
    async def main() -> None:
        async with AsyncRunwareClient(KEY, endpoint(bgmock_server)) as runware:
            results = await asyncio.gather(*(runware.remove_background(photo(), output_type=
                                                                       "base64Data")
                                              for _ in range(4)))
        assert len({r.task_uuid for r in results}) == 4
        for result in results:
            assert_cutout(result.image_bytes())

    asyncio.run(main())


# --- the README's example ------------------------------------------------------------------


def test_the_readme_example_runs(bgmock_server: MockServer, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Runware client", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("http://127.0.0.1:8080", bgmock_server.base_url)
    (tmp_path / "product.jpg").write_bytes(photo(fmt="jpg"))
    monkeypatch.chdir(tmp_path)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # wait()'s pauses move the virtual clock instead
        slept.append(seconds)
        bgmock_server.advance(seconds)

    monkeypatch.setattr("bgmock.client._common.time.sleep", sleep)
    printed: list[tuple[Any, ...]] = []
    scope: dict[str, Any] = {"print": lambda *args: printed.append(args)}
    exec(compile(code, "README.md", "exec"), scope)
    assert_cutout(scope["png"])
    assert scope["done"].finished and slept == [1.0, 1.5]
    assert printed == [(scope["result"].image_uuid, 0.0006)]


def test_the_async_client_reads_files_off_the_event_loop(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path):
    from bgmock.client import runware as module

    threads: list[int] = []
    read = module.image_value

    def spy(image: Any) -> str:
        threads.append(threading.get_ident())
        return read(image)

    monkeypatch.setattr(module, "image_value", spy)
    path = tmp_path / "shoe.png"
    path.write_bytes(photo())

    async def main() -> int:
        def handler(request: httpx.Request) -> httpx.Response:
            (task,) = json.loads(request.content)
            return httpx.Response(200, json={"data": [{"taskType": "imageUpload",
                                                       "taskUUID": task["taskUUID"],
                                                       "imageUUID": str(uuid.uuid4())}]})

        async with AsyncRunwareClient(KEY, FAKE, strict=False,
                                      transport=httpx.MockTransport(handler)) as runware:
            await runware.upload(path)
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert len(threads) == 1 and threads[0] != loop_thread
