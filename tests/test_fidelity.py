"""Fidelity fixes: query booleans, repeated presigned PUTs, URL lifetimes, Aidge result URLs,
URLs behind a provider's real Host, ids per seed, rate limits on the virtual clock."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from bgmock.server.core import imaging
from bgmock.server.core.files import OssSign, cloudfront_b64decode
from bgmock.server.providers.aidge import service as aidge_service
from bgmock.server.providers.topview import service as topview_service
from bgmock.server.settings import Settings, resolve
from bgmock.server.testing import InProcessMock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgmock import contracts
from tests.aidge_calls import AidgeApi, v2_query
from tests.docs_examples import DOCS
from tests.topview_calls import CHECK, CREDENTIAL, DEMO, QUERY, Api

DOCS_TASK = "56eac11a862143989e9cc63f8b213a2d"
DOCS_000 = DOCS / "000_c9e614f3311d5d02.txt"
PHOTO_A = imaging.encode(imaging.synthetic_product("a", 200, 150), "png")
PHOTO_B = imaging.encode(imaging.synthetic_product("b", 321, 123), "png")


def credential(http: object) -> dict:
    return http.get(CREDENTIAL, params={"format": "png"}, headers=DEMO).json()["result"]


@pytest.fixture
def started() -> Iterator[list[InProcessMock]]:
    mocks: list[InProcessMock] = []
    yield mocks
    for mock in mocks:
        mock.close()


def start(started: list[InProcessMock], seed: int | None) -> InProcessMock:
    mock = InProcessMock(Settings(clock="virtual", seed=seed))
    started.append(mock)
    return mock


def file_ids(mock: InProcessMock, n: int = 3) -> list[str]:
    with mock.client() as http:
        return [credential(http)["fileId"] for _ in range(n)]


# --- 6. ids per seed ---------------------------------------------------------------------

def test_unseeded_starts_and_resets_give_fresh_ids(started: list[InProcessMock]) -> None:
    one, two = start(started, None), start(started, None)
    first = file_ids(one)
    assert len(set(first)) == 3
    assert set(first).isdisjoint(file_ids(two))
    one.reset()
    assert set(first).isdisjoint(file_ids(one))


def test_a_seed_repeats_the_sequence_at_every_start_and_reset(
        started: list[InProcessMock]) -> None:
    one, two, other = start(started, 5), start(started, 5), start(started, 6)
    first = file_ids(one)
    assert file_ids(two) == first
    one.reset()
    assert file_ids(one) == first
    assert set(file_ids(other)).isdisjoint(first)


@pytest.mark.parametrize("seed", [None, 5])
def test_a_url_handed_out_keeps_verifying_across_a_reset(
        started: list[InProcessMock], seed: int | None) -> None:
    mock = start(started, seed)
    with mock.client() as http:
        result = http.get(QUERY, params={"taskId": DOCS_TASK}, headers=DEMO).json()["result"]
        mock.reset()
        download = http.get(result["bgRemovedImagePath"])
    assert download.status_code == 200 and download.content.startswith(b"\x89PNG")
    assert result["bgRemovedImageFileId"] == "e5ea811a6fb646ba9e0354232e8b97a4"  # docs' id


def test_seed_setting_from_env_config_and_default() -> None:
    assert resolve({}, environ={}).seed is None
    assert resolve({}, environ={"BGMOCK_SEED": "7"}).seed == 7
    assert resolve({}, environ={"BGMOCK_SEED": ""}).seed is None
    assert resolve({"seed": 3}, environ={"BGMOCK_SEED": "7"}).seed == 3
    with pytest.raises(ValueError):
        resolve({}, environ={"BGMOCK_SEED": "x"})


# --- 1. needCloudFrontUrl as a boolean in any case, or 1/0 --------------------------------

def query_raw(api: Api, task_id: str, flag: str | None) -> dict:
    """The query with the flag exactly as given on the wire (``None``: bare ``&flag``)."""
    suffix = "&needCloudFrontUrl" if flag is None else f"&needCloudFrontUrl={flag}"
    return api.get(f"{QUERY}?taskId={task_id}{suffix}").json()


@pytest.mark.parametrize(("flag", "cloudfront"), [
    ("True", True), ("TRUE", True), ("true", True), ("tRuE", True), ("1", True),
    ("False", False), ("FALSE", False), ("false", False), ("0", False), ("", False),
    (None, False),
])
def test_need_cloudfront_url_reads_any_case_and_1_or_0(api: Api, flag: str | None,
                                                      cloudfront: bool) -> None:
    body = query_raw(api, DOCS_TASK, flag)
    assert body["code"] == "200", body
    contracts.validate("topview", "remove_background_query.response", body)
    path = body["result"]["bgRemovedImagePath"]
    assert ("/files/cf/" in path) is cloudfront and ("/files/s3/" in path) is not cloudfront
    assert api.http.get(path).status_code == 200


@pytest.mark.parametrize("flag", ["maybe", "yes", "2", "truee", "10", "%20true"])
def test_other_need_cloudfront_url_values_are_refused(api: Api, flag: str) -> None:
    assert query_raw(api, DOCS_TASK, flag)["code"] == "4000"


def test_requests_style_true_is_what_the_contract_admits() -> None:
    for value in ("True", "False", "1", "0", "TRUE", ""):
        assert not contracts.errors("topview", "remove_background_query.request",
                                    {"taskId": DOCS_TASK, "needCloudFrontUrl": value})


# --- 2. presigned PUT repeatable until it expires -----------------------------------------

def test_a_presigned_put_may_be_repeated_last_write_wins(api: Api) -> None:
    cred = credential(api.http)
    url, file_id = cred["uploadUrl"], cred["fileId"]
    first, second = PHOTO_A, PHOTO_B
    assert api.http.put(url, content=first).status_code == 200
    again = api.http.put(url, content=second, headers={"Content-Type": "image/png"})
    assert again.status_code == 200 and again.headers["ETag"]
    assert api.get(CHECK, params={"fileId": file_id}).json()["result"] is True
    stored = api.engine.files.get("topview-upload", f"user_upload/{DEMO['Topview-Uid']}/"
                                                    f"{file_id}.png")
    assert stored.data == second
    # the task works on the last bytes written
    task_id = api.submit(file_id, fault="polls=1")
    result = api.query(task_id)["result"]
    assert (result["maskImageWidth"], result["maskImageHeight"]) == (321, 123)


def test_a_repeated_put_still_meets_the_size_cap_expiry_and_signature(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.engine, "settings",
                        replace(api.engine.settings, max_upload_bytes=1000))
    cred = credential(api.http)
    monkeypatch.undo()
    url = cred["uploadUrl"]
    assert api.http.put(url, content=b"a" * 1000).status_code == 200
    too_big = api.http.put(url, content=b"b" * 1001)
    assert too_big.status_code == 400 and b"EntityTooLarge" in too_big.content
    assert api.http.put(url, content=b"c" * 10).status_code == 200
    tampered = api.http.put(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), content=b"d")
    assert tampered.status_code == 403
    api.controls.advance(3601)
    late = api.http.put(url, content=b"e")
    assert late.status_code == 403 and b"Request has expired" in late.content


# --- 3. CloudFront URLs live 72 h, files 7 days -------------------------------------------

def test_docs_cloudfront_policy_ends_72_h_after_the_sessions_next_call() -> None:
    """provider-docs/000: Policy AWS:EpochTime vs the X-Amz-Date of the call signed next."""
    import base64
    import json
    import re
    from datetime import UTC, datetime

    text = DOCS_000.read_text(encoding="utf-8")
    policy = re.search(r"cloudfront\.net/[^?]+\?Policy=([A-Za-z0-9~_-]+)", text).group(1)
    decoded = json.loads(base64.b64decode(policy.translate(str.maketrans("-_~", "+=/"))))
    deadline = decoded["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"]
    signed = min(datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
                 for stamp in re.findall(r"X-Amz-Date=(\d{8}T\d{6}Z)", text))
    assert deadline == 1756609238
    assert deadline - 72 * 3600 == signed - 73  # 72 h after a moment 73 s before the next call
    assert topview_service.CLOUDFRONT_TTL == 72 * 3600


def test_cloudfront_urls_die_after_72_h_and_a_new_query_signs_fresh_ones(api: Api) -> None:
    old = api.query(DOCS_TASK, cloudfront=True)["result"]["bgRemovedImagePath"]
    s3 = api.query(DOCS_TASK)["result"]["bgRemovedImagePath"]
    policy = json.loads(cloudfront_b64decode(parse_qs(urlsplit(old).query)["Policy"][0]))
    now = api.engine.clock.now()
    assert policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"] \
        == int(now) + 72 * 3600
    api.controls.advance(72 * 3600 - 2)
    assert api.http.get(old).status_code == 200
    api.controls.advance(2)
    assert api.http.get(old).status_code == 403
    assert api.http.get(s3).status_code == 403  # S3-style: 24 h
    api.controls.advance(3 * 86400)  # day 6 of the file's 7
    fresh = api.query(DOCS_TASK, cloudfront=True)["result"]["bgRemovedImagePath"]
    assert fresh != old and api.http.get(fresh).status_code == 200


# --- 4. Aidge result URLs as in the docs ---------------------------------------------------

def aidge_cut(api: Api, body: dict | None = None, **query: str) -> dict:
    aidge = api.view(AidgeApi)
    return aidge.cut(body, params={**v2_query(aidge.now_ms()), **query})


def test_docs_result_name_and_expires_from_the_docs_request_time() -> None:
    """provider-docs/002: requestId 2101 3642 <1719383457307 ms> ..., Expires=2719383457, name
    stamped 202406261430 (06:30:57 UTC = 14:30 in UTC+8)."""
    text = (DOCS / "002_cc7fe5bcb66f117b.txt").read_text(encoding="utf-8")
    docs_url = re.search(r'"imageUrl": "(http://nhci-image[^"]+)"', text).group(1)
    request_ms = int(re.search(r'"requestId": "2101[0-9a-f]{4}(\d{13})', text).group(1))
    now = request_ms / 1000
    key = aidge_service.result_key(now, "7089bce4c9d1469cb552dd225e28a254", 0.8799999952316284,
                                   "jpg")
    assert unquote(urlsplit(docs_url).path).lstrip("/") == key
    expires = parse_qs(urlsplit(docs_url).query)["Expires"][0]
    assert int(expires) == int(now) + Settings().aidge_url_ttl == 2719383457
    signed = OssSign(b"k").url("http://m", "nhci-image", key, now=now,
                               ttl=Settings().aidge_url_ttl)
    assert f"Expires={expires}&" in signed


def test_result_urls_expire_10_to_the_9_s_after_the_request_and_are_stamped_utc8(
        api: Api) -> None:
    now = api.engine.clock.now()
    url = aidge_cut(api)["data"]["imageUrl"]
    assert int(parse_qs(urlsplit(url).query)["Expires"][0]) == int(now) + 10**9
    stamp = datetime.fromtimestamp(now, UTC) + timedelta(hours=8)
    assert f"_{stamp:%Y%m%d%H%M}_" in unquote(url)
    api.controls.advance(30 * 86400)  # the old 30-day lifetime is long gone: still served
    assert api.http.get(url).status_code == 200


# --- 7. rate limits on the virtual clock only when asked for -------------------------------

SMALL = base64.b64encode(imaging.encode(imaging.synthetic_product("q", 120, 100), "png")).decode()
SMALL_BODY = {"imageBase64": SMALL, "backGroundType": "TRANSPARENT"}


def test_twenty_calls_on_the_virtual_clock_meet_no_default_limit(api: Api) -> None:
    results = [aidge_cut(api, SMALL_BODY) for _ in range(20)]
    assert all(r.get("success") for r in results), [r.get("resCode", r.get("code"))
                                                    for r in results]
    extra = api.controls.account("aidge", "512345")["extra"]
    assert (extra["qps"], extra["burst"]) == (None, None)


def test_a_limit_set_through_the_admin_api_applies_on_the_virtual_clock(api: Api) -> None:
    api.controls.set_account("aidge", "512345", extra={"qps": 3})
    codes = [aidge_cut(api, SMALL_BODY).get("resCode") for _ in range(4)]
    assert codes == [200, 200, 200, 501]
    api.controls.set_account("aidge", "512345", extra={"qps": None, "burst": 2})
    gateway = [aidge_cut(api, SMALL_BODY).get("code") for _ in range(3)]
    assert gateway == ["0", "0", "ApiCallLimit"]
    api.controls.advance(1)
    assert aidge_cut(api, SMALL_BODY)["success"] is True


def test_a_fault_rule_still_gives_the_limit_on_the_virtual_clock(api: Api) -> None:
    api.controls.fault("aidge", "error=501", operation="cut_out", count=1)
    assert aidge_cut(api, SMALL_BODY)["resCode"] == 501


def test_configured_limits_apply_and_the_real_clock_keeps_the_defaults(
        started: list[InProcessMock]) -> None:
    accounts = {"aidge": [{"app_key": "k", "secret": "s", "qps": 2}]}
    virtual = InProcessMock(Settings(clock="virtual", accounts=accounts))
    real = InProcessMock(Settings(clock="real", accounts=accounts))
    started += [virtual, real]
    assert virtual.account("aidge", "k")["extra"]["qps"] == 2
    assert virtual.account("aidge", "k")["extra"]["burst"] is None
    assert [real.account("aidge", key)["extra"][name] for key in ("512345", "k")
            for name in ("qps", "burst")] == [10, 50, 2, 50]


@pytest.mark.parametrize("limit", [None, 0, 2, "2", "x", -1, 2.5, 10**30])
def test_rate_limiter_reads_any_limit_without_raising(limit: object) -> None:
    from bgmock.server.core.clock import Clock
    from bgmock.server.core.ratelimit import RateLimiter

    limiter = RateLimiter(Clock("virtual", start=0))
    allowed = [limiter.allow("k", limit) for _ in range(3)]
    expected = {None: 3, 0: 0, 2: 2, "2": 2, "x": 0, -1: 0, 2.5: 2, 10**30: 3}[limit]
    assert allowed.count(True) == expected


# --- 5. URLs handed out under a provider's real Host still reach the mock ------------------

def real_host_get(api: Api, path: str, host: str = "api.topview.ai", **kw: object):
    return api.http.get(path, headers={**DEMO, "Host": host}, **kw)


def test_urls_under_the_real_topview_host_lead_back_to_the_mock(api: Api) -> None:
    base = api.controls.base_url
    cred = real_host_get(api, "/v1/upload/credential", params={"format": "png"}).json()
    upload_url = cred["result"]["uploadUrl"]
    assert upload_url.startswith(f"{base}/files/s3/topview-upload/"), upload_url
    assert api.http.put(upload_url, content=PHOTO_A).status_code == 200
    for cloudfront in ("false", "true"):
        result = real_host_get(api, "/v1/common_task/remove_background/query",
                               params={"taskId": DOCS_TASK, "needCloudFrontUrl": cloudfront}
                               ).json()["result"]
        assert result["bgRemovedImagePath"].startswith(f"{base}/files/")
        assert api.http.get(result["bgRemovedImagePath"]).status_code == 200


def test_urls_under_the_real_aidge_host_lead_back_to_the_mock(api: Api) -> None:
    params = v2_query(int(api.engine.clock.now() * 1000))
    body = api.http.post("/rest/ai/image/cut/out", params=params, json=SMALL_BODY,
                         headers={"Host": "api.aidc-ai.com"}).json()
    url = body["data"]["imageUrl"]
    assert url.startswith(f"{api.controls.base_url}/files/oss/"), url
    assert api.http.get(url).status_code == 200


def test_other_hosts_keep_their_own_host_in_urls(api: Api) -> None:
    cred = api.http.get(CREDENTIAL, params={"format": "png"},
                        headers={**DEMO, "Host": "mock.internal:8123"}).json()
    assert cred["result"]["uploadUrl"].startswith("http://mock.internal:8123/files/")


def test_public_url_wins_over_the_real_host(started: list[InProcessMock]) -> None:
    mock = InProcessMock(Settings(clock="virtual", public_url="https://mock.example:9443"))
    started.append(mock)
    with mock.client() as http:
        cred = http.get("/v1/upload/credential", params={"format": "png"},
                        headers={**DEMO, "Host": "api.topview.ai"}).json()
    assert cred["result"]["uploadUrl"].startswith("https://mock.example:9443/files/")


@pytest.mark.parametrize(("scheme", "server", "reached"), [
    ("http", ("127.0.0.1", 8080), "127.0.0.1:8080"), ("http", ("10.0.0.2", 80), "10.0.0.2"),
    ("https", ("::1", 443), "[::1]"), ("https", ("::1", 8443), "[::1]:8443"),
    ("http", ("bgmock.test", None), "bgmock.test"),
    ("http", None, None), ("http", ("/tmp/bgmock.sock", None), None),
])
def test_reached_address_of_the_connection(scheme: str, server: object,
                                           reached: str | None) -> None:
    from bgmock.server.core.edge import _reached

    assert _reached({"scheme": scheme, "server": server}) == reached


# --- properties over outside input -----------------------------------------------------------

BOOLEAN_WORDS = {"true", "false", "1", "0", ""}


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=8),
                 st.sampled_from(["true", "false", "1", "0", ""]).flatmap(
                     lambda w: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in w))
                 ).map("".join)))
def test_contract_and_service_agree_on_every_flag_value(value: str) -> None:
    admitted = not contracts.errors("topview", "remove_background_query.request",
                                    {"taskId": DOCS_TASK, "needCloudFrontUrl": value})
    is_ascii_word = value.isascii() and value.lower() in BOOLEAN_WORDS
    assert admitted is is_ascii_word
    if admitted:
        assert topview_service.query_flag(value) is (value.lower() in ("true", "1"))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=st.sampled_from(["api.topview.ai", "API.TopView.ai"]),
       port=st.one_of(st.none(), st.integers(1, 65535)))
def test_any_real_host_spelling_gives_urls_to_the_mock(mock: InProcessMock, host: str,
                                                       port: int | None) -> None:
    with mock.client() as http:
        header = host if port is None else f"{host}:{port}"
        cred = http.get("/v1/upload/credential", params={"format": "png"},
                        headers={**DEMO, "Host": header}).json()
    assert cred["result"]["uploadUrl"].startswith("http://bgmock.test/files/")
