"""The Aidge reference client (client/aidge.py) against the mock: in-process, over a real socket
and through respx on the real host, in both signing styles. Every Aidge answer the client sees is
checked against the contracts, and so is every request it sends."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from bgmock.client._common import MissingCredentials, ProviderError
from bgmock.client.aidge import (
    CUT_OUT,
    AidgeClient,
    AidgeError,
    AidgeGatewayError,
    AsyncAidgeClient,
    CutOutResult,
    sign_iop,
    sign_v2,
)
from bgmock.server.core import imaging
from bgmock.server.providers.aidge.fixtures import DEMO_APP_KEY, DEMO_SECRET
from bgmock.server.testing import InProcessMock, MockServer
from PIL import Image

from bgmock import contracts
from tests.harness import check_answer
from tests.recording import AsyncRecorder, Recorder, is_storage

DOCS_IMAGE = "https://ae01.alicdn.com/kf/Sa78257f1d9a34dad8ee494178db12ec8l.jpg"
STYLES = ["v2", "iop"]
IOP_PARTNER = "iop-sdk-java-20181207"
GATEWAY_CODES = [
    "IncompleteSignature",
    "IllegalTimestamp",
    "InvalidAppKey",
    "InvalidApiPath",
    "ApiCallLimit",
    "NoResource",
]
BUSINESS_CODES = [500, 501, 700, 703, 704, 705, 801, 900, 1000, 1001, 1002]


@cache
def photo(width: int = 400, height: int = 300, fmt: str = "png") -> bytes:
    return imaging.encode(imaging.synthetic_product("seed", width, height), fmt)


def open_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# --- recording + contract checks ---------------------------------------------------------


def check_exchange(request: httpx.Request, response: httpx.Response) -> str | None:
    """Validate an API request and its answer against the contracts; the answer's schema."""
    if not is_storage(request):
        query = dict(request.url.params)
        contracts.validate("aidge", "gateway.request", query)
        contracts.validate(
            "aidge",
            "headers.request",
            {k: v for k, v in request.headers.items() if k in ("x-iop-trial", "content-type")},
        )
    return check_answer("aidge", request, response)


def recorder_of(inner: httpx.BaseTransport) -> Recorder:
    return Recorder(inner, check_exchange)


def async_recorder_of(inner: httpx.AsyncBaseTransport) -> AsyncRecorder:
    return AsyncRecorder(inner, check_exchange)


def business_params(request: httpx.Request) -> dict[str, Any]:
    """What the request carried as business parameters: a JSON or a form body."""
    if request.headers["content-type"].startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(request.content.decode(), keep_blank_values=True))
    return json.loads(request.content)


def assert_signed(request: httpx.Request, style: str, secret: str = DEMO_SECRET) -> None:
    """The request carries exactly the system parameters of its style, correctly signed."""
    query = dict(request.url.params)
    assert request.url.path.endswith("/rest/ai/image/cut/out") and request.method == "POST"
    if style == "v2":
        assert list(query) == [
            "partner_id",
            "sign_method",
            "sign_ver",
            "app_key",
            "timestamp",
            "sign",
        ]
        assert (query["partner_id"], query["sign_method"], query["sign_ver"]) == (
            "aidge",
            "sha256",
            "v2",
        )
        assert query["sign"] == sign_v2(secret, query["timestamp"])
        assert request.headers["content-type"] == "application/json"
    else:
        assert set(query) == {"app_key", "timestamp", "sign_method", "partner_id", "sign"}
        assert (query["sign_method"], query["partner_id"]) == ("sha256", IOP_PARTNER)
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        signed = {**query, **business_params(request)}
        assert query["sign"] == sign_iop(secret, CUT_OUT, signed)
        assert all(isinstance(v, str) for v in business_params(request).values())


@pytest.fixture
def recorder(bgmock: InProcessMock) -> Recorder:
    return recorder_of(bgmock.transport)


def make(bgmock: InProcessMock, transport: httpx.BaseTransport, **kwargs: Any) -> AidgeClient:
    """A client on the in-process mock, signing with the mock's virtual clock."""
    options: dict[str, Any] = {
        "app_key": DEMO_APP_KEY,
        "secret": DEMO_SECRET,
        "base_url": bgmock.url("aidge"),
        "transport": transport,
        "clock": bgmock.engine.clock.now,
        **kwargs,
    }
    return AidgeClient(**options)


@pytest.fixture(params=STYLES)
def style(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def aidge(bgmock: InProcessMock, recorder: Recorder, style: str) -> Iterator[AidgeClient]:
    with make(bgmock, recorder, sign_style=style) as client:
        yield client


def client_over(handler: Callable[[httpx.Request], httpx.Response]) -> AidgeClient:
    return AidgeClient(
        DEMO_APP_KEY, DEMO_SECRET, "http://fake.test", transport=httpx.MockTransport(handler)
    )


def assert_white_jpg(data: bytes, size: tuple[int, int]) -> None:
    img = open_image(data)
    assert (img.format, img.mode, img.size) == ("JPEG", "RGB", size)
    corner = img.getpixel((0, 0))
    assert all(channel >= 250 for channel in corner)  # white background


def assert_transparent_png(data: bytes, size: tuple[int, int]) -> None:
    img = open_image(data)
    assert (img.format, img.mode, img.size) == ("PNG", "RGBA", size)
    assert img.getchannel("A").getextrema() == (0, 255)  # clear background, opaque subject


def quota(bgmock: InProcessMock) -> tuple[int, int]:
    extra = bgmock.account("aidge", DEMO_APP_KEY)["extra"]
    return extra["trial_quota"], extra["quota"]


# --- signatures ---------------------------------------------------------------------------


def test_signature_vectors():
    v2 = "4221853E1726BA791132CEA43C362F94746AFC4BCEB1B877FDB0F1CF44A438C4"
    assert sign_v2("helloworld", "1517820392000") == v2  # V2-1
    assert sign_v2("helloworld", 1517820392000) == v2
    params = {
        "access_token": "test",
        "app_key": "123456",
        "order_id": "1234",
        "sign_method": "sha256",
        "timestamp": "1517820392000",
    }
    iop = "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A"
    assert sign_iop("helloworld", "/order/get", params) == iop  # IOP-1
    # Order of the mapping does not matter; sign and empty values are left out.
    shuffled = dict(reversed(params.items()))
    assert (
        sign_iop("helloworld", "/order/get", {**shuffled, "sign": "X", "debug": "", "extra": None})
        == iop
    )
    assert sign_iop("helloworld", "/order/gets", params) != iop
    assert sign_iop("hello", "/order/get", params) != iop


def test_iop_keys_sort_by_byte_order():
    # Upper-case letters sort before lower-case ones (byte order, as Java's Arrays.sort).
    signed = sign_iop("k", "/x", {"b": "2", "a": "3", "B": "1"})
    assert signed == hmac.new(b"k", b"/xB1a3b2", hashlib.sha256).hexdigest().upper()


# --- the docs' request, end to end -----------------------------------------------------------


def test_docs_request_in_process(
    bgmock: InProcessMock, recorder: Recorder, aidge: AidgeClient, style: str
):
    result = aidge.remove_background(
        image_url=DOCS_IMAGE, background="WHITE_BACKGROUND", target_width=800, target_height=1000
    )
    assert isinstance(result, CutOutResult)
    assert (result.width, result.height, result.usage) == (800, 1000, 1)
    assert 0 <= result.score <= 1 and len(result.request_id) == 30
    assert result.raw["data"]["imageUrl"] == result.image_url
    assert result.raw["requestId"] == result.request_id and result.raw["resCode"] == 200
    assert_white_jpg(aidge.download(result.image_url), (800, 1000))

    (call,) = recorder.api()
    assert_signed(call, style)
    assert "x-iop-trial" not in call.headers
    stamp = int(call.url.params["timestamp"])
    assert abs(stamp - bgmock.engine.clock.now() * 1000) < 1000  # epoch milliseconds
    sent = business_params(call)
    size = (800, 1000) if style == "v2" else ("800", "1000")  # the form sends strings
    assert sent == {
        "imageUrl": DOCS_IMAGE,
        "backGroundType": "WHITE_BACKGROUND",
        "targetWidth": size[0],
        "targetHeight": size[1],
    }
    (download,) = recorder.storage()
    assert "app_key" not in download.url.params and "sign" not in download.url.params
    assert recorder.validated == ["cut_out.response"]
    assert bgmock.journal("aidge")[0]["code"] == "ok"


def test_over_a_real_server(bgmock_server: MockServer, style: str):
    recorder = recorder_of(httpx.HTTPTransport())
    with httpx.Client(transport=recorder) as http:
        with AidgeClient(
            DEMO_APP_KEY,
            DEMO_SECRET,
            bgmock_server.url("aidge"),
            sign_style=style,
            http_client=http,
            clock=bgmock_server.engine.clock.now,
        ) as aidge:
            result = aidge.remove_background(
                image_base64=photo(), target_width=300, target_height=200
            )
            assert (result.width, result.height) == (300, 200)
            assert_transparent_png(aidge.download(result.image_url), (300, 200))
        assert not http.is_closed  # a client passed in stays the caller's to close
    (call,) = recorder.api()
    assert call.url.host == "127.0.0.1"
    assert_signed(call, style)
    assert business_params(call)["backGroundType"] == "TRANSPARENT"  # the default
    assert recorder.validated == ["cut_out.response"]
    (entry,) = bgmock_server.journal("aidge")
    assert entry["code"] == "ok" and entry["key"] == DEMO_APP_KEY


def test_through_respx_on_the_real_host(bgmock: InProcessMock, bgmock_routes: Any, style: str):
    with AidgeClient(DEMO_APP_KEY, DEMO_SECRET, sign_style=style) as aidge:  # default base_url
        assert aidge.base_url == "https://api.aidc-ai.com"
        result = aidge.remove_background(
            image_url=DOCS_IMAGE,
            background="WHITE_BACKGROUND",
            target_width=800,
            target_height=1000,
        )
        assert_white_jpg(aidge.download(result.image_url), (800, 1000))
    calls = list(bgmock_routes.calls)
    assert {c.request.url.host for c in calls} == {"api.aidc-ai.com"}
    assert calls[0].request.url.path == "/rest/ai/image/cut/out"
    assert_signed(calls[0].request, style)
    assert check_exchange(calls[0].request, calls[0].response) == "cut_out.response"
    assert calls[1].request.url.path.startswith("/files/")


# --- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("background", "check"),
    [("WHITE_BACKGROUND", assert_white_jpg), ("TRANSPARENT", assert_transparent_png)],
)
def test_both_backgrounds(
    aidge: AidgeClient,
    recorder: Recorder,
    background: str,
    check: Callable[[bytes, tuple[int, int]], None],
):
    result = aidge.remove_background(
        image_url="https://example.com/shoe.jpg",
        background=background,
        target_width=240,
        target_height=320,
    )
    assert (result.width, result.height) == (240, 320)
    check(aidge.download(result.image_url), (240, 320))
    assert business_params(recorder.api()[0])["backGroundType"] == background


def test_base64_as_text_and_as_bytes(aidge: AidgeClient, recorder: Recorder, style: str):
    text = base64.b64encode(photo()).decode()
    from_text = aidge.remove_background(image_base64=text)
    from_bytes = aidge.remove_background(image_base64=photo())
    for result in (from_text, from_bytes):
        # Without a target the original frame comes back, the subject where it was.
        assert (result.width, result.height) == (400, 300)
        assert_transparent_png(aidge.download(result.image_url), (400, 300))
    first, second = recorder.api()
    assert (
        business_params(first)
        == business_params(second)
        == {"imageBase64": text, "backGroundType": "TRANSPARENT"}
    )  # None parameters omitted
    assert_signed(second, style)
    # The bytes really are the image: decoding the sent text gives the photo back.
    assert base64.b64decode(business_params(second)["imageBase64"]) == photo()


@pytest.mark.parametrize(
    "sources",
    [
        {},
        {"image_url": "", "image_base64": b""},
        {"image_url": DOCS_IMAGE, "image_base64": "aGVsbG8="},
        {"image_url": DOCS_IMAGE, "image_base64": b"\x89PNG"},
    ],
)
def test_exactly_one_image_source(aidge: AidgeClient, recorder: Recorder, sources: dict[str, Any]):
    with pytest.raises(ValueError, match="exactly one of image_url or image_base64"):
        aidge.remove_background(**sources)
    assert recorder.exchanges == []  # refused before any request


def test_empty_other_source_is_ignored(aidge: AidgeClient, recorder: Recorder):
    # The docs' Java sample sends imageBase64="" next to imageUrl: empty means "not given".
    result = aidge.remove_background(image_url=DOCS_IMAGE, image_base64="")
    assert result.usage == 1
    assert "imageBase64" not in business_params(recorder.api()[0])


def test_trial_header_spends_trial_quota(bgmock: InProcessMock, recorder: Recorder, style: str):
    with make(bgmock, recorder, sign_style=style, trial=True) as aidge:
        aidge.remove_background(image_url=DOCS_IMAGE)
    assert recorder.api()[0].headers["x-iop-trial"] == "true"
    assert quota(bgmock) == (99, 1000)
    with make(bgmock, recorder, sign_style=style) as aidge:
        aidge.remove_background(image_url=DOCS_IMAGE)
    assert "x-iop-trial" not in recorder.api()[1].headers
    assert quota(bgmock) == (99, 999)


# --- credentials --------------------------------------------------------------------------


def test_credentials_from_the_environment(
    bgmock: InProcessMock, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AIDGE_APP_KEY", DEMO_APP_KEY)
    monkeypatch.setenv("AIDGE_APP_SECRET", DEMO_SECRET)
    with AidgeClient(base_url=bgmock.url("aidge"), transport=recorder) as aidge:
        assert (aidge.app_key, aidge.secret) == (DEMO_APP_KEY, DEMO_SECRET)
        assert aidge.remove_background(image_url=DOCS_IMAGE).usage == 1
    assert recorder.api()[0].url.params["app_key"] == DEMO_APP_KEY


def test_arguments_win_over_the_environment(bgmock: InProcessMock, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIDGE_APP_KEY", "999999")
    monkeypatch.setenv("AIDGE_APP_SECRET", "not-the-secret")
    with make(bgmock, bgmock.transport) as aidge:
        assert aidge.remove_background(image_url=DOCS_IMAGE).usage == 1


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "AIDGE_APP_KEY"),
        ({"AIDGE_APP_KEY": DEMO_APP_KEY}, "AIDGE_APP_SECRET"),
        ({"AIDGE_APP_KEY": "", "AIDGE_APP_SECRET": DEMO_SECRET}, "AIDGE_APP_KEY"),
    ],
)
def test_missing_credentials(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], missing: str):
    monkeypatch.delenv("AIDGE_APP_KEY", raising=False)
    monkeypatch.delenv("AIDGE_APP_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(MissingCredentials, match=missing):
        AidgeClient()
    with pytest.raises(ValueError, match=missing):  # MissingCredentials is a ValueError
        AsyncAidgeClient()


# --- gateway errors -----------------------------------------------------------------------


def gateway_error(aidge: AidgeClient, **kwargs: Any) -> AidgeGatewayError:
    with pytest.raises(AidgeGatewayError) as caught:
        aidge.remove_background(**{"image_url": DOCS_IMAGE, **kwargs})
    error = caught.value
    assert isinstance(error, ProviderError) and not isinstance(error, AidgeError)
    assert error.status == 200 and error.type == "ISV"
    assert error.request_id and len(error.request_id) == 25
    return error


def test_wrong_secret_is_incomplete_signature(
    bgmock: InProcessMock, recorder: Recorder, style: str
):
    with make(bgmock, recorder, sign_style=style, secret="S4etzZ73nF08vOXVhk3wZjIaLSHw0124") as a:
        error = gateway_error(a)
    assert error.code == "IncompleteSignature"
    assert error.message == "The request signature does not conform to platform standards"
    assert str(error) == f"aidge error IncompleteSignature: {error.message}"
    assert recorder.validated == ["gateway_error.response"]
    assert quota(bgmock) == (100, 1000)  # nothing charged


def test_unknown_app_key(bgmock: InProcessMock, recorder: Recorder, style: str):
    with make(bgmock, recorder, sign_style=style, app_key="000000") as aidge:
        assert gateway_error(aidge).code == "InvalidAppKey"
    assert recorder.validated == ["gateway_error.response"]


@pytest.mark.parametrize("skew", [-7300.0, 7300.0])
def test_clock_skew_is_illegal_timestamp(
    bgmock: InProcessMock, recorder: Recorder, style: str, skew: float
):
    def clock() -> float:
        return bgmock.engine.clock.now() + skew

    with make(bgmock, recorder, sign_style=style, clock=clock) as aidge:
        assert gateway_error(aidge).code == "IllegalTimestamp"
    # Within the 7200 s window the same skew direction still works.
    with make(
        bgmock, recorder, sign_style=style, clock=lambda: bgmock.engine.clock.now() + skew * 0.9
    ) as aidge:
        assert aidge.remove_background(image_url=DOCS_IMAGE).usage == 1
    assert recorder.validated == ["gateway_error.response", "cut_out.response"]


def test_the_timestamp_follows_the_injected_clock(bgmock: InProcessMock, recorder: Recorder):
    with make(bgmock, recorder, clock=lambda: 1517820392.0) as aidge:
        assert gateway_error(aidge).code == "IllegalTimestamp"  # 2018 is far from now
    call = recorder.api()[0]
    assert call.url.params["timestamp"] == "1517820392000"
    assert call.url.params["sign"] == sign_v2(DEMO_SECRET, "1517820392000")


def test_no_quota_is_no_resource(bgmock: InProcessMock, recorder: Recorder, style: str):
    bgmock.set_account("aidge", DEMO_APP_KEY, extra={"quota": 0})
    with make(bgmock, recorder, sign_style=style) as aidge:
        error = gateway_error(aidge)
    assert error.code == "NoResource"
    assert error.message.startswith("Sorry, your calling resources have been exhausted")
    with make(bgmock, recorder, sign_style=style, trial=True) as aidge:  # trial quota is left
        assert aidge.remove_background(image_url=DOCS_IMAGE).usage == 1
    assert quota(bgmock) == (99, 0)
    assert recorder.validated == ["gateway_error.response", "cut_out.response"]


@pytest.mark.parametrize("code", GATEWAY_CODES)
def test_injected_gateway_errors(
    bgmock: InProcessMock, aidge: AidgeClient, recorder: Recorder, code: str
):
    bgmock.fault("aidge", f"error={code}", operation="cut_out", count=1)
    assert gateway_error(aidge).code == code
    assert aidge.remove_background(image_url=DOCS_IMAGE).usage == 1  # count=1: once only
    assert recorder.validated == ["gateway_error.response", "cut_out.response"]


def test_unknown_api_path(bgmock: InProcessMock, recorder: Recorder):
    with make(bgmock, recorder, base_url=bgmock.url("aidge") + "/v0") as aidge:
        assert gateway_error(aidge).code == "InvalidApiPath"


# --- business errors ----------------------------------------------------------------------


def business_error(aidge: AidgeClient, **kwargs: Any) -> AidgeError:
    with pytest.raises(AidgeError) as caught:
        aidge.remove_background(**kwargs)
    error = caught.value
    assert isinstance(error, ProviderError) and isinstance(error.res_code, int)
    assert error.code == str(error.res_code) and error.status == 200
    assert error.request_id and len(error.request_id) == 30
    return error


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"image_url": DOCS_IMAGE, "background": "BLUE"}, "backGroundType"),
        ({"image_url": DOCS_IMAGE, "target_width": 50}, "targetWidth"),
        ({"image_url": DOCS_IMAGE, "target_height": 3001}, "targetHeight"),
        ({"image_base64": "not base64!"}, "imageBase64"),
    ],
)
def test_invalid_input_names_the_field(
    aidge: AidgeClient, recorder: Recorder, kwargs: dict[str, Any], field: str
):
    error = business_error(aidge, **kwargs)
    assert error.res_code == 700 and field in error.message
    assert error.message.startswith("invalid input")
    assert recorder.validated == ["failure.response"]


def test_image_problems(aidge: AidgeClient, recorder: Recorder):
    assert business_error(aidge, image_base64=b"definitely not an image").res_code == 704
    assert business_error(aidge, image_base64=photo(60, 60)).res_code == 703
    assert recorder.validated == ["failure.response"] * 2


def test_rate_limit_is_501(bgmock: InProcessMock, aidge: AidgeClient, recorder: Recorder):
    bgmock.set_account("aidge", "512345", extra={"qps": 10})  # off on the virtual clock (D64)
    small = photo(120, 100)
    for _ in range(10):  # 10 per second per key
        assert aidge.remove_background(image_base64=small).usage == 1
    error = business_error(aidge, image_base64=small)
    assert error.res_code == 501 and error.message == "rate limit exceed"
    bgmock.advance(1)
    assert aidge.remove_background(image_base64=small).usage == 1
    assert recorder.validated.count("failure.response") == 1
    assert quota(bgmock) == (100, 989)  # the refused call cost nothing


@pytest.mark.parametrize("code", BUSINESS_CODES)
def test_injected_business_errors(
    bgmock: InProcessMock, aidge: AidgeClient, recorder: Recorder, code: int
):
    bgmock.fault("aidge", f"error={code}", operation="cut_out")
    error = business_error(aidge, image_url=DOCS_IMAGE)
    assert error.res_code == code
    assert recorder.validated == ["failure.response"]


def test_model_failure_message(bgmock: InProcessMock, aidge: AidgeClient):
    bgmock.fault("aidge", "error=801", operation="cut_out")
    error = business_error(aidge, image_url=DOCS_IMAGE)
    assert (error.res_code, error.code, error.message) == (801, "801", "model failed")
    assert str(error) == "aidge error 801: model failed"


# --- answers that are not Aidge's -----------------------------------------------------------


def test_the_mocks_control_error_uses_the_status(bgmock: InProcessMock, aidge: AidgeClient):
    bgmock.fault("aidge", "error=9999", operation="cut_out")  # the mock refuses: HTTP 400
    with pytest.raises(AidgeError) as caught:
        aidge.remove_background(image_url=DOCS_IMAGE)
    assert (caught.value.res_code, caught.value.code, caught.value.status) == (400, "400", 400)
    assert "bgmockError" in caught.value.message


@pytest.mark.parametrize(
    ("answer", "res_code", "text"),
    [
        (
            httpx.Response(502, text="<html><body>Bad Gateway</body></html>"),
            502,
            "<html><body>Bad Gateway",
        ),
        (httpx.Response(503), 503, "Service Unavailable"),
        (httpx.Response(200, text="OK"), 200, "not an Aidge answer"),
        (httpx.Response(200, json=["not", "an", "envelope"]), 200, "not an Aidge answer"),
        (httpx.Response(200, json={"code": "0"}), 200, "not an Aidge answer"),
        (
            httpx.Response(200, json={"success": True, "resCode": 200, "data": None}),
            200,
            "not an Aidge result",
        ),
        (
            httpx.Response(200, json={"success": True, "resCode": 200, "data": {"imageUrl": "x"}}),
            200,
            "not an Aidge result",
        ),
    ],
)
def test_answers_that_are_not_aidges(answer: httpx.Response, res_code: int, text: str):
    with client_over(lambda request: answer) as odd, pytest.raises(AidgeError) as caught:
        odd.remove_background(image_url=DOCS_IMAGE)
    assert caught.value.res_code == res_code and caught.value.status == answer.status_code
    assert caught.value.message.startswith(text)


def test_aidge_bodies_win_over_the_http_status():
    gateway = {
        "type": "ISP",
        "code": "ApiCallLimit",
        "message": "slow down",
        "request_id": "2101abcd0000000000000000",
    }
    with (
        client_over(lambda r: httpx.Response(429, json=gateway)) as odd,
        pytest.raises(AidgeGatewayError) as caught,
    ):
        odd.remove_background(image_url=DOCS_IMAGE)
    assert (caught.value.code, caught.value.status, caught.value.type) == (
        "ApiCallLimit",
        429,
        "ISP",
    )
    failure = {
        "success": False,
        "resCode": "801",
        "resMessage": "model failed",
        "requestId": "ab" * 15,
    }
    with (
        client_over(lambda r: httpx.Response(500, json=failure)) as odd,
        pytest.raises(AidgeError) as failed,
    ):
        odd.remove_background(image_url=DOCS_IMAGE)
    assert (failed.value.res_code, failed.value.status) == (801, 500)  # numeric string -> int
    # A "success" flag without resCode 200 is still a failure.
    odd_success = {"success": True, "resCode": 700, "resMessage": "invalid input: x"}
    with (
        client_over(lambda r: httpx.Response(200, json=odd_success)) as odd,
        pytest.raises(AidgeError) as odd_failure,
    ):
        odd.remove_background(image_url=DOCS_IMAGE)
    assert (odd_failure.value.res_code, odd_failure.value.message) == (700, "invalid input: x")


# --- downloads ----------------------------------------------------------------------------


def test_expired_and_tampered_result_urls(bgmock: InProcessMock, aidge: AidgeClient):
    result = aidge.remove_background(image_url=DOCS_IMAGE)
    with pytest.raises(AidgeError) as tampered:
        aidge.download(result.image_url.replace("Signature=", "Signature=x"))
    assert (tampered.value.code, tampered.value.res_code) == ("SignatureDoesNotMatch", 403)
    bgmock.advance(10**9 + 1)  # result URLs live 10^9 s (D63)
    with pytest.raises(AidgeError) as expired:
        aidge.download(result.image_url)
    assert (expired.value.code, expired.value.status) == ("AccessDenied", 403)
    assert "expired" in expired.value.message


def test_download_failure_without_xml():
    with (
        client_over(lambda r: httpx.Response(503, text="Slow Down")) as odd,
        pytest.raises(AidgeError) as caught,
    ):
        odd.download("http://fake.test/files/x.jpg")
    assert (caught.value.code, caught.value.message) == ("503", "Slow Down")


# --- client lifecycle ---------------------------------------------------------------------


def test_lifecycle(bgmock: InProcessMock):
    with AidgeClient(DEMO_APP_KEY, DEMO_SECRET, transport=bgmock.transport) as aidge:
        assert not aidge.http.is_closed
        assert DEMO_SECRET not in repr(aidge) and DEMO_APP_KEY in repr(aidge)
    assert aidge.http.is_closed  # the client it made is closed with it
    with pytest.raises(ValueError, match="not both"):
        AidgeClient(
            DEMO_APP_KEY, DEMO_SECRET, transport=bgmock.transport, http_client=httpx.Client()
        )
    with pytest.raises(ValueError, match="sign_style"):
        AidgeClient(DEMO_APP_KEY, DEMO_SECRET, sign_style="v3")  # type: ignore[arg-type]
    aidge = AidgeClient(DEMO_APP_KEY, DEMO_SECRET, "https://cn-api.aidc-ai.com/", timeout=7)
    assert aidge.base_url == "https://cn-api.aidc-ai.com"
    assert aidge.http.timeout == httpx.Timeout(7)
    aidge.close()


# --- async --------------------------------------------------------------------------------


def run_async(test: Callable[[InProcessMock, AsyncRecorder], Any]) -> None:
    """A fresh in-process mock whose app only ever sees this test's event loop."""
    mock = InProcessMock()
    recorder = async_recorder_of(mock.async_transport)
    try:
        asyncio.run(test(mock, recorder))
    finally:
        mock.close()


@pytest.mark.parametrize("sign_style", STYLES)
def test_async_flow(sign_style: str):
    async def flow(mock: InProcessMock, recorder: AsyncRecorder) -> None:
        async with AsyncAidgeClient(
            DEMO_APP_KEY,
            DEMO_SECRET,
            mock.url("aidge"),
            sign_style=sign_style,
            trial=True,
            transport=recorder,
            clock=mock.engine.clock.now,
        ) as aidge:
            white = await aidge.remove_background(
                image_url=DOCS_IMAGE,
                background="WHITE_BACKGROUND",
                target_width=800,
                target_height=1000,
            )
            assert_white_jpg(await aidge.download(white.image_url), (800, 1000))
            clear = await aidge.remove_background(image_base64=photo())
            assert_transparent_png(await aidge.download(clear.image_url), (400, 300))
            with pytest.raises(ValueError):
                await aidge.remove_background()
        assert aidge.http.is_closed
        calls = recorder.sync.api()
        assert len(calls) == 2
        for call in calls:
            assert_signed(call, sign_style)
            assert call.headers["x-iop-trial"] == "true"
        assert recorder.validated == ["cut_out.response"] * 2

    run_async(flow)


def test_async_errors():
    async def errors(mock: InProcessMock, recorder: AsyncRecorder) -> None:
        async with httpx.AsyncClient(transport=recorder) as http:
            stranger = AsyncAidgeClient("000000", DEMO_SECRET, mock.url("aidge"), http_client=http)
            with pytest.raises(AidgeGatewayError) as gateway:
                await stranger.remove_background(image_url=DOCS_IMAGE)
            assert gateway.value.code == "InvalidAppKey"

            aidge = AsyncAidgeClient(
                DEMO_APP_KEY,
                DEMO_SECRET,
                mock.url("aidge"),
                sign_style="iop",
                http_client=http,
                clock=mock.engine.clock.now,
            )
            mock.fault("aidge", "error=801", operation="cut_out", count=1)
            with pytest.raises(AidgeError) as failed:
                await aidge.remove_background(image_url=DOCS_IMAGE)
            assert failed.value.res_code == 801
            with pytest.raises(AidgeError) as invalid:
                await aidge.remove_background(image_url=DOCS_IMAGE, background="GREEN")
            assert invalid.value.res_code == 700 and "backGroundType" in invalid.value.message
            result = await aidge.remove_background(image_url=DOCS_IMAGE)
            with pytest.raises(AidgeError) as tampered:
                await aidge.download(result.image_url + "0")
            assert tampered.value.status == 403
            await aidge.close()
            assert not http.is_closed  # the caller's client stays open
        assert recorder.validated == [
            "gateway_error.response",
            "failure.response",
            "failure.response",
            "cut_out.response",
        ]

    run_async(errors)
