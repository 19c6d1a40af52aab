"""Aidge's gateway and Image Background Removal, in-process and over a real socket."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from bgmock.server.core import imaging
from bgmock.server.providers.aidge import signing
from PIL import Image

from tests.aidge_calls import (
    APP_KEY,
    CUT_OUT,
    DOCS_URL,
    AidgeApi,
    checked,
    iop_query,
    v2_query,
)
from tests.topview_calls import Api

PHOTO = imaging.synthetic_product("aidge", 600, 400, (200, 50, 400, 350))
PHOTO_PNG = imaging.encode(PHOTO, "png")


def now_ms(api: Api) -> int:
    return api.view(AidgeApi).now_ms()


def cut(api: Api, body: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None) -> dict[str, Any]:
    signature = {"params": query} if query else {}
    return api.view(AidgeApi).cut(body, headers=headers or {}, **signature)


def image_at(api: Api, url: str) -> Image.Image:
    response = api.http.get(url)
    assert response.status_code == 200, response.text
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


# --- signatures --------------------------------------------------------------------------

def test_signature_vectors_from_the_sheet() -> None:
    assert signing.sign_v2("helloworld", "1517820392000") == (
        "4221853E1726BA791132CEA43C362F94746AFC4BCEB1B877FDB0F1CF44A438C4")
    params = {"access_token": "test", "app_key": "123456", "order_id": "1234",
              "sign_method": "sha256", "timestamp": "1517820392000"}
    assert signing.iop_base("/order/get", params) == (
        "/order/getaccess_tokentestapp_key123456order_id1234sign_methodsha256timestamp"
        "1517820392000")
    assert signing.sign_iop("helloworld", "/order/get", params) == (
        "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A")


def test_iop_base_for_json_bodies_follows_a19() -> None:
    base = signing.iop_base("/x", {"b": 800, "a": "s", "c": None, "d": "", "e": [1, 2],
                                   "f": True, "sign": "X"})
    assert base == '/xas' + "b800" + "e[1,2]" + "ftrue"


# --- the docs' request and both signature styles ----------------------------------------

def test_docs_request_succeeds_with_a_real_800x1000_jpg(api: Api) -> None:
    """provider-docs/002: WHITE_BACKGROUND, the alicdn URL, 800 x 1000 (A15)."""
    body = cut(api, {"backGroundType": "WHITE_BACKGROUND", "imageBase64": "",
                     "targetHeight": "1000", "imageUrl": DOCS_URL, "targetWidth": "800"})
    assert body["success"] is True and body["resCode"] == 200 and body["code"] == "0"
    assert body["requestId"] == body["_trace_id_"]
    data = body["data"]
    assert (data["width"], data["height"], data["usage"]) == (800, 1000, 1)
    assert 0 <= data["score"] <= 1
    assert "OSSAccessKeyId=" in data["imageUrl"] and "&Expires=" in data["imageUrl"]
    image = image_at(api, data["imageUrl"])
    assert image.format == "JPEG" and image.mode == "RGB" and image.size == (800, 1000)
    assert image.getpixel((2, 2)) == (255, 255, 255)           # white background
    assert image.getpixel((400, 500)) != (255, 255, 255)       # the subject is kept


def test_iop_client_style_form_post(api: Api) -> None:
    """The docs' IopClient sample: system params on the query, business params as a form."""
    form = {"backGroundType": "WHITE_BACKGROUND", "imageBase64": "", "targetHeight": "1000",
            "imageUrl": DOCS_URL, "targetWidth": "800"}
    query = iop_query(now_ms(api), "/ai/image/cut/out", form)
    body = checked(api.http.post(CUT_OUT, params=query, data=form))
    assert body["success"] and (body["data"]["width"], body["data"]["height"]) == (800, 1000)


def test_iop_signature_over_a_json_body(api: Api) -> None:
    payload = {"imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT", "targetWidth": 300}
    pairs = {k: str(v) for k, v in payload.items()}
    body = checked(api.http.post(CUT_OUT, json=payload,
                                 params=iop_query(now_ms(api), "/ai/image/cut/out", pairs)))
    assert body["success"] and body["data"]["width"] == 300


def test_get_with_query_parameters(api: Api) -> None:
    business = {"imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT"}
    query = {**iop_query(now_ms(api), "/ai/image/cut/out", business), **business}
    body = checked(api.http.get(CUT_OUT, params=query))
    assert body["success"] and (body["data"]["width"], body["data"]["height"]) == (1000, 1000)


def test_host_routing_for_both_sites(api: Api) -> None:
    for host in ("api.aidc-ai.com", "cn-api.aidc-ai.com"):
        response = api.http.post("/rest/ai/image/cut/out", params=v2_query(now_ms(api)),
                                 json={"imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT"},
                                 headers={"Host": host})
        body = checked(response)
        assert body["success"], host
        assert body["data"]["imageUrl"].startswith(
            f"{api.controls.base_url}/files/oss/nhci-image/")  # reachable (D65)


# --- images ------------------------------------------------------------------------------

def test_transparent_png_without_target_keeps_frame_and_position(api: Api) -> None:
    encoded = base64.b64encode(PHOTO_PNG).decode()
    data = cut(api, {"imageBase64": encoded, "backGroundType": "TRANSPARENT"})["data"]
    image = image_at(api, data["imageUrl"])
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (600, 400)
    assert (data["width"], data["height"]) == (600, 400)
    alpha = image.getchannel("A")
    assert alpha.getpixel((10, 10)) == 0 and alpha.getpixel((300, 200)) == 255
    assert alpha.getbbox() == (200, 50, 400, 350)         # subject where it was


def test_target_crops_blank_edges_and_scales(api: Api) -> None:
    encoded = base64.b64encode(PHOTO_PNG).decode()
    data = cut(api, {"imageBase64": encoded, "backGroundType": "TRANSPARENT",
                     "targetWidth": 400, "targetHeight": "600"})["data"]
    image = image_at(api, data["imageUrl"])
    assert image.size == (400, 600)
    box = image.getchannel("A").getbbox()           # 200x300 subject scaled x2 fills it
    assert box == (0, 0, 400, 600)


def test_base64_wins_over_url(api: Api) -> None:
    encoded = base64.b64encode(PHOTO_PNG).decode()
    data = cut(api, {"imageBase64": encoded, "imageUrl": DOCS_URL,
                     "backGroundType": "TRANSPARENT"})["data"]
    assert (data["width"], data["height"]) == (600, 400)       # the base64 photo, not 1000x1000


def test_the_mocks_own_file_url_is_read_back(api: Api) -> None:
    first = cut(api, {"imageBase64": base64.b64encode(PHOTO_PNG).decode(),
                      "backGroundType": "TRANSPARENT"})["data"]
    again = cut(api, {"imageUrl": first["imageUrl"], "backGroundType": "WHITE_BACKGROUND"})
    assert (again["data"]["width"], again["data"]["height"]) == (600, 400)
    api.controls.advance(10**9 + 1)                  # A20: request time + 10^9 s (D63)
    expired = api.http.get(first["imageUrl"])
    assert expired.status_code == 403 and b"Request has expired." in expired.content
    body = cut(api, {"imageUrl": first["imageUrl"], "backGroundType": "TRANSPARENT"},
               query=v2_query(now_ms(api)))
    assert body["resCode"] == 704


def test_result_url_lives_10_to_the_9_seconds(api: Api) -> None:
    url = cut(api)["data"]["imageUrl"]
    api.controls.advance(10**9 - 60)
    assert api.http.get(url).status_code == 200
    tampered = api.http.get(url.replace("Expires=", "Expires=9"))
    assert tampered.status_code == 403 and b"SignatureDoesNotMatch" in tampered.content


def test_same_url_same_synthetic_photo(api: Api) -> None:
    one, two = cut(api)["data"], cut(api)["data"]
    assert api.http.get(one["imageUrl"]).content == api.http.get(two["imageUrl"]).content


# --- gateway errors ----------------------------------------------------------------------

def _gateway_code(api: Api, query: dict[str, str], headers: dict[str, str] | None = None) -> str:
    body = cut(api, query=query, headers=headers)
    assert set(body) == {"type", "code", "message", "request_id"}
    return body["code"]


def test_gateway_errors(api: Api) -> None:
    ts = now_ms(api)
    good = v2_query(ts)
    assert _gateway_code(api, {**good, "sign": "A" * 64}) == "IncompleteSignature"
    assert _gateway_code(api, {k: v for k, v in good.items() if k != "sign"}) == \
        "IncompleteSignature"
    assert _gateway_code(api, {k: v for k, v in good.items() if k != "timestamp"}) == \
        "IncompleteSignature"
    assert _gateway_code(api, v2_query(ts, app_key="nobody")) == "InvalidAppKey"
    assert _gateway_code(api, {k: v for k, v in good.items() if k != "app_key"}) == \
        "InvalidAppKey"
    assert _gateway_code(api, v2_query(ts, secret="wrong")) == "IncompleteSignature"
    assert _gateway_code(api, v2_query(ts - 7201 * 1000)) == "IllegalTimestamp"
    assert _gateway_code(api, v2_query(ts + 7201 * 1000)) == "IllegalTimestamp"
    assert _gateway_code(api, {**good, "timestamp": "soon"}) == "IllegalTimestamp"
    assert cut(api, query=v2_query(ts - 7199 * 1000))["success"]


def test_timestamp_window_follows_the_mock_clock(api: Api) -> None:
    signed_now = v2_query(now_ms(api))
    api.controls.advance(7201)
    assert _gateway_code(api, signed_now) == "IllegalTimestamp"


def test_unknown_api_path(api: Api) -> None:
    response = api.http.post("/aidge/rest/ai/image/cut/in", params=v2_query(now_ms(api)),
                             json={})
    assert checked(response)["code"] == "InvalidApiPath"


def test_quota_trial_and_no_resource(api: Api) -> None:
    api.controls.set_account("aidge", APP_KEY, extra={"quota": 1, "trial_quota": 1})
    trial = {"x-iop-trial": "true"}
    assert cut(api, headers=trial)["success"]                    # spends trial quota
    assert cut(api)["success"]                                   # spends purchased quota
    assert _gateway_code(api, v2_query(now_ms(api))) == "NoResource"
    assert _gateway_code(api, v2_query(now_ms(api)), headers=trial) == "NoResource"
    account = api.controls.account("aidge", APP_KEY)
    assert account["extra"]["quota"] == 0 and account["extra"]["trial_quota"] == 0


def test_failures_are_not_charged(api: Api) -> None:
    api.controls.set_account("aidge", APP_KEY, extra={"quota": 1, "trial_quota": 0})
    assert cut(api, {"imageUrl": DOCS_URL})["resCode"] == 700
    assert cut(api)["success"]


def test_gateway_burst_gives_api_call_limit(api: Api) -> None:
    api.controls.set_account("aidge", APP_KEY, extra={"burst": 3, "qps": 100})
    codes = [cut(api, {"backGroundType": "TRANSPARENT"}).get("code") for _ in range(4)]
    assert codes == ["0", "0", "0", "ApiCallLimit"]
    api.controls.advance(1.01)
    assert cut(api).get("success")


def test_per_key_rate_limit_gives_501(api: Api) -> None:
    api.controls.set_account("aidge", APP_KEY, extra={"qps": 2})
    results = [cut(api) for _ in range(3)]
    assert [r["success"] for r in results] == [True, True, False]
    assert results[2]["resCode"] == 501 and results[2]["resMessage"] == "rate limit exceed"
    api.controls.advance(1.01)
    assert cut(api)["success"]


# --- business errors ---------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"imageUrl": DOCS_URL}, "backGroundType"),
    ({"imageUrl": DOCS_URL, "backGroundType": "BLUE"}, "backGroundType"),
    ({"backGroundType": "TRANSPARENT"}, "imageUrl or imageBase64"),
    ({"backGroundType": "TRANSPARENT", "imageUrl": "", "imageBase64": ""},
     "imageUrl or imageBase64"),
    ({"imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT", "targetWidth": 99}, "targetWidth"),
    ({"imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT", "targetHeight": "3001"},
     "targetHeight"),
    ({"imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT", "targetHeight": "1e3"},
     "targetHeight"),
    ({"imageUrl": 7, "backGroundType": "TRANSPARENT"}, "imageUrl"),
    ({"imageBase64": "!!not base64!!", "backGroundType": "TRANSPARENT"}, "imageBase64"),
    (["not", "an", "object"], "body"),
])
def test_invalid_input_is_700_naming_the_field(api: Api, body: Any, field: str) -> None:
    answer = cut(api, body)
    assert answer["success"] is False and answer["resCode"] == 700
    assert answer["resMessage"] == f"invalid input: {field}"
    assert answer["data"] is None and answer["code"] == "0"


def test_image_errors(api: Api) -> None:
    def code(data: bytes) -> int:
        return cut(api, {"imageBase64": base64.b64encode(data).decode(),
                         "backGroundType": "TRANSPARENT"})["resCode"]
    assert code(imaging.encode(imaging.synthetic_product("s", 99, 300), "png")) == 703
    assert code(imaging.encode(imaging.synthetic_product("s", 300, 3001), "png")) == 703
    assert code(b"GIF89a this is not really an image") == 704


def test_file_size_limit_is_705_and_configurable() -> None:
    from bgmock.server.settings import Settings
    from bgmock.server.testing import InProcessMock

    mock = InProcessMock(Settings(clock="virtual", aidge_max_image_bytes=len(PHOTO_PNG) - 1))
    try:
        with mock.client() as http:
            ts = int(mock.engine.clock.now() * 1000)
            body = {"imageBase64": base64.b64encode(PHOTO_PNG).decode(),
                    "backGroundType": "TRANSPARENT"}
            assert checked(http.post(CUT_OUT, params=v2_query(ts), json=body))["resCode"] == 705
    finally:
        mock.close()


def test_non_http_image_url_is_704(api: Api) -> None:
    assert cut(api, {"imageUrl": "ftp://example.com/a.jpg",
                     "backGroundType": "TRANSPARENT"})["resCode"] == 704


@pytest.mark.parametrize("code", ["500", "501", "700", "703", "704", "705", "801", "900",
                                  "1000", "1001", "1002"])
def test_business_codes_on_demand(api: Api, code: str) -> None:
    body = cut(api, headers={"X-Mock-Fault": f"error={code}"})
    assert body["success"] is False and body["resCode"] == int(code)


@pytest.mark.parametrize("code", ["IncompleteSignature", "IllegalTimestamp", "InvalidAppKey",
                                  "InvalidApiPath", "ApiCallLimit", "NoResource"])
def test_gateway_codes_on_demand(api: Api, code: str) -> None:
    api.controls.fault("aidge", f"error={code}", operation="cut_out", key=APP_KEY, count=1)
    assert cut(api)["code"] == code
    assert cut(api)["success"]


def test_malformed_json_is_700(api: Api) -> None:
    response = api.http.post(CUT_OUT, params=v2_query(now_ms(api)), content=b"{nope",
                             headers={"Content-Type": "application/json"})
    body = checked(response)
    assert body["resCode"] == 700 and body["resMessage"] == "invalid input: body"


def test_journal_and_openapi(api: Api) -> None:
    cut(api, {"imageUrl": DOCS_URL})
    entry = api.controls.journal(provider="aidge")[-1]
    assert entry["operation"] == "cut_out" and entry["code"] == "700" and entry["key"] == APP_KEY
    document = api.http.get("/aidge/openapi.json").json()
    assert set(document["paths"]["/rest/ai/image/cut/out"]) == {"get", "post"}


def test_real_fetch_only_when_enabled_and_allowlisted() -> None:
    """C7: with fetching on and the host allowlisted, the bytes really come from the URL."""
    from bgmock.server.settings import Settings
    from bgmock.server.testing import running_server

    with running_server(Settings(clock="virtual", port=0)) as origin:
        photo_url = _topview_cutout_url(origin)
        fetching = Settings(clock="virtual", port=0, allow_fetch=True,
                            fetch_allowlist=("127.0.0.1",))
        with running_server(fetching) as mock:
            ts = int(mock.engine.clock.now() * 1000)
            response = mock.http.post(f"{mock.base_url}{CUT_OUT}", params=v2_query(ts),
                                      json={"imageUrl": photo_url,
                                            "backGroundType": "TRANSPARENT"})
            data = checked(response)["data"]
            assert (data["width"], data["height"]) == (720, 720)   # the fetched photo's size
        offline = Settings(clock="virtual", port=0, allow_fetch=True,
                           fetch_allowlist=("images.example.com",))
        with running_server(offline) as mock:
            ts = int(mock.engine.clock.now() * 1000)
            data = checked(mock.http.post(f"{mock.base_url}{CUT_OUT}", params=v2_query(ts),
                                          json={"imageUrl": photo_url,
                                                "backGroundType": "TRANSPARENT"}))["data"]
            assert (data["width"], data["height"]) == (1000, 1000)  # not allowlisted: synthetic


def _topview_cutout_url(server: Any) -> str:
    """A downloadable 720x720 PNG on another mock: a Topview fixture mask."""
    from tests.topview_calls import DEMO

    result = server.http.get(
        f"{server.base_url}/topview/v1/common_task/remove_background/query",
        params={"taskId": "56eac11a862143989e9cc63f8b213a2d"}, headers=DEMO).json()["result"]
    return result["maskImagePath"]


def test_fetched_image_over_the_byte_limit_is_705() -> None:
    from bgmock.server.settings import Settings
    from bgmock.server.testing import running_server

    with running_server(Settings(clock="virtual", port=0)) as origin:
        photo_url = _topview_cutout_url(origin)
        small = Settings(clock="virtual", port=0, allow_fetch=True, max_image_bytes=200,
                         fetch_allowlist=(".0.0.1", "localhost"))
        with running_server(small) as mock:
            ts = int(mock.engine.clock.now() * 1000)
            body = checked(mock.http.post(f"{mock.base_url}{CUT_OUT}", params=v2_query(ts),
                                          json={"imageUrl": photo_url,
                                                "backGroundType": "TRANSPARENT"}))
            assert body["resCode"] == 705


def test_allowlist_matching() -> None:
    from bgmock.server.core.remote import host_allowed

    assert host_allowed("img.example.com", (".example.com",))
    assert host_allowed("example.com", ("example.com",))
    assert not host_allowed("example.com.evil.net", (".example.com", "example.com"))
    assert not host_allowed("badexample.com", (".example.com",))
    assert not host_allowed("anything", ())
