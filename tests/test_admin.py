"""The control plane: /__admin."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from bgmock.server.admin.routes import MAX_RULES
from bgmock.server.core import imaging
from bgmock.server.core.clock import LATEST, MAX_ADVANCE, Clock
from bgmock.server.core.faults import parse
from bgmock.server.providers.picpik.fixtures import DOCS_TASKS as PICPIK_DOCS_TASKS
from bgmock.server.providers.topview.avatar_fixtures import DOCS_TASK_IDS
from bgmock.server.providers.topview.product_background_docs import (
    DOCS_TASKS as BACKGROUND_DOCS_TASKS,
)
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.aidge_calls import CUT_OUT, DOCS_URL, checked, v2_query
from tests.topview_calls import CREDIT, DEMO, Api


def test_health_reports_providers_and_clock(api: Api) -> None:
    health = api.controls.health()
    assert health["status"] == "ok" and health["providers"] == ["aidge", "picpik", "runware",
                                                                "topview"]
    assert health["clock"]["mode"] == "virtual"


def test_reset_restores_the_fresh_state(api: Api) -> None:
    api.controls.set_account("topview", "NsDAaOPF4jLuAie4ewyg", credits=3)
    api.controls.fault("topview", "error=5000")
    api.controls.advance(100)
    assert api.get(CREDIT).json()["code"] == "5000"
    api.controls.reset()
    assert api.get(CREDIT).json()["result"]["remainCredit"] == 1000
    assert api.controls.http.get(f"{api.controls.base_url}/__admin/faults").json() == []
    assert api.controls.clock()["offset"] == 0
    assert {t["id"] for t in api.controls.tasks()} == {
        "56eac11a862143989e9cc63f8b213a2d", "4274b375c30844c8bd0b1e4b6e44fb5f",
        *DOCS_TASK_IDS, *(t[0] for t in BACKGROUND_DOCS_TASKS),  # and the docs' other tasks
        *PICPIK_DOCS_TASKS}


def test_clock_advances_and_never_goes_back(api: Api) -> None:
    start = api.controls.clock()["now"]
    assert api.controls.advance(90)["now"] == pytest.approx(start + 90)
    response = api.controls.http.post(f"{api.controls.base_url}/__admin/clock/advance",
                                      json={"seconds": -1})
    assert response.status_code == 400


def test_fault_rules_are_listed_and_deleted(api: Api) -> None:
    rule = api.controls.fault("topview", "error=4100;delay=0", operation="credit_detail",
                              count=3)
    assert rule["fault"] == "error=4100" and rule["remaining"] == 3
    base = f"{api.controls.base_url}/__admin/faults"
    assert api.get(CREDIT).json()["code"] == "4100"
    assert api.controls.http.get(base).json()[0]["hits"] == 1
    assert api.controls.http.delete(f"{base}/{rule['id']}").status_code == 200
    assert api.controls.http.delete(f"{base}/{rule['id']}").status_code == 404
    assert api.get(CREDIT).json()["code"] == "200"


@pytest.mark.parametrize("body", [
    {"provider": "nope", "fault": "error=4000"},
    {"provider": "topview", "fault": "bogus"},
    {"provider": "topview", "fault": ""},
    {"provider": "topview", "fault": "error=4000", "count": 0},
])
def test_bad_fault_rules_are_refused(api: Api, body: dict) -> None:
    response = api.controls.http.post(f"{api.controls.base_url}/__admin/faults", json=body)
    assert response.status_code == 400


def test_tasks_show_their_state_now(api: Api) -> None:
    file_id = api.upload(b"not an image")
    task_id = api.submit(file_id)
    assert api.controls.task(task_id)["status"] == "init"
    api.controls.advance(2)
    assert api.controls.task(task_id)["status"] == "running"
    api.controls.advance(10)
    task = api.controls.task(task_id)
    assert task["status"] == "fail" and task["error"]
    assert [t["id"] for t in api.controls.tasks("topview") if t["id"] == task_id]
    missing = api.controls.http.get(f"{api.controls.base_url}/__admin/tasks/nope")
    assert missing.status_code == 404


def test_accounts_can_be_created_and_changed(api: Api) -> None:
    created = api.controls.set_account("topview", "team-a", secret="sk-team-a", credits=2,
                                       concurrency=1)
    assert created["credits"] == 2 and created["concurrency"] == 1
    headers = {"Topview-Uid": "team-a", "Authorization": "Bearer sk-team-a"}
    assert api.http.get(CREDIT, headers=headers).json()["result"]["remainCredit"] == 2
    base = f"{api.controls.base_url}/__admin/accounts"
    assert api.controls.http.put(f"{base}/topview/new", json={"credits": 1}).status_code == 400
    assert api.controls.http.get(f"{base}/nope").status_code == 404
    assert api.controls.http.get(f"{base}/topview/ghost").status_code == 404
    assert {a["key"] for a in api.controls.http.get(base).json()} >= {"team-a",
                                                                      "NsDAaOPF4jLuAie4ewyg"}


def test_journal_is_bounded_and_filterable() -> None:
    mock = InProcessMock(Settings(clock="virtual", journal_size=5))
    try:
        with mock.client() as http:
            for _ in range(8):
                http.get(CREDIT, headers=DEMO)
        entries = mock.journal()
        assert len(entries) == 5 and entries[-1]["seq"] == 8
        assert len(mock.journal(limit=2)) == 2
        assert mock.journal(operation="remove_background_query") == []
        mock.http.delete(f"{mock.base_url}/__admin/journal")
        assert mock.journal() == []
    finally:
        mock.close()


def test_admin_token_protects_the_control_plane() -> None:
    mock = InProcessMock(Settings(clock="virtual", admin_token="s3cret"))
    try:
        with mock.client() as http:
            assert http.get("/__admin/health").status_code == 401
            ok = http.get("/__admin/health", headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200
            assert http.get(CREDIT, headers=DEMO).json()["code"] == "200"  # providers unaffected
    finally:
        mock.close()


def test_admin_openapi_documents_every_action(http: httpx.Client) -> None:
    paths = http.get("/__admin/openapi.json").json()["paths"]
    for path in ("/health", "/reset", "/clock", "/clock/advance", "/faults", "/faults/{rule_id}",
                 "/journal", "/tasks", "/tasks/{task_id}", "/accounts",
                 "/accounts/{provider}/{key}"):
        assert path in paths, path


def test_index_lists_providers(http: httpx.Client) -> None:
    index = http.get("/").json()
    assert index["providers"]["topview"]["hosts"] == ["api.topview.ai"]


# --- Input checks: every number ranged, every text bounded and encodable, checked first ---

def _admin(api: Api, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return api.controls.http.request(method, f"{api.controls.base_url}/__admin{path}", **kwargs)


def _raw(api: Api, method: str, path: str, text: str) -> httpx.Response:
    """A body exactly as written (JSON's ``Infinity``, escaped lone surrogates ...)."""
    return _admin(api, method, path, content=text.encode(),
                  headers={"content-type": "application/json"})


def _still_serving(api: Api) -> None:
    for path in ("/health", "/accounts", "/tasks", "/clock", "/faults", "/journal"):
        assert _admin(api, "GET", path).status_code == 200, path
    assert api.get(CREDIT).json()["code"] == "200"


BAD_ADVANCES = [
    '{"seconds": 1e308}', '{"seconds": Infinity}', '{"seconds": -Infinity}', '{"seconds": NaN}',
    '{"seconds": 2.6e11}', '{"seconds": 3153600001}', '{"seconds": false}', '{"seconds": true}',
    '{"seconds": "10"}', '{"seconds": null}', '{"seconds": -0.5}', '{}', '[]', '"10"',
    '{"seconds": 10, "extra": 1}', '{"seconds": 1e999}']


def test_clock_advance_refuses_what_it_cannot_do(api: Api) -> None:
    for body in BAD_ADVANCES:
        response = _raw(api, "POST", "/clock/advance", body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["detail"].startswith("body"), body
        assert api.controls.clock()["offset"] == 0, body
    _still_serving(api)


def test_clock_advance_takes_up_to_a_century_and_stops_before_year_9000(api: Api) -> None:
    century = 100 * 365 * 86400
    assert api.controls.advance(century)["offset"] == century     # an int is a number
    refused = None
    for _ in range(80):                                           # ~70 centuries to 9000
        response = _admin(api, "POST", "/clock/advance", json={"seconds": century})
        if response.status_code != 200:
            refused = response
            break
    assert refused is not None and refused.status_code == 400
    assert "9000" in refused.json()["detail"]
    clock = api.controls.clock()
    assert clock["iso"] < "9000-01-01" and clock["iso"] > "8900-01-01"
    _still_serving(api)
    # The whole Topview flow still works there: upload, task, result download.
    file_id = api.upload(_png())
    task_id = api.submit(file_id)
    api.controls.advance(60)
    result = api.query(task_id, cloudfront=True)["result"]
    assert result["status"] == "success", result
    assert api.http.get(result["bgRemovedImagePath"]).status_code == 200
    # ... and an Aidge cut-out, with its result URL.
    query = v2_query(int(api.engine.clock.now() * 1000))
    cut = checked(api.http.post(CUT_OUT, params=query, json={
        "imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT"}))
    assert cut["success"], cut
    assert api.http.get(cut["data"]["imageUrl"]).status_code == 200


def _png() -> bytes:
    return imaging.encode(imaging.synthetic_product("admin", 200, 200, (50, 50, 150, 150)),
                          "png")


def test_clock_refuses_unrepresentable_moves_without_moving() -> None:
    clock = Clock("virtual", start=LATEST - 10)
    for bad in (float("inf"), float("nan"), -1.0, MAX_ADVANCE + 1.0, True, 11.0):
        with pytest.raises(ValueError):
            clock.advance(bad)  # type: ignore[arg-type]
    assert clock.now() == LATEST - 10
    assert clock.advance(9.5) == LATEST - 0.5


BAD_ACCOUNT_CHANGES: list[dict[str, Any]] = [
    {"credits": -1}, {"credits": 1e308}, {"credits": "5"}, {"credits": True},
    {"concurrency": 1.5}, {"concurrency": -1}, {"concurrency": 10_001}, {"concurrency": True},
    {"concurrency": "2"}, {"secret": ""}, {"secret": "x" * 257}, {"secret": 12},
    {"secret": "two words"}, {"extra": {"qps": 1}}, {"extra": []}, {"bogus": 1},
]


def test_account_changes_are_checked_and_all_or_nothing(api: Api) -> None:
    path = "/accounts/topview/NsDAaOPF4jLuAie4ewyg"
    before = api.controls.account("topview", "NsDAaOPF4jLuAie4ewyg")
    for changes in BAD_ACCOUNT_CHANGES:
        response = _admin(api, "PUT", path, json={"credits": 5, **changes})
        assert response.status_code == 400, (changes, response.text)
        assert api.controls.account("topview", "NsDAaOPF4jLuAie4ewyg") == before, changes
    for body in ('{"credits": Infinity}', '{"credits": NaN}', '{"credits": -0.1}'):
        assert _raw(api, "PUT", path, body).status_code == 400, body
    assert api.get(CREDIT).json()["result"]["remainCredit"] == 1000
    _still_serving(api)


def test_a_failed_account_put_stores_no_new_account(api: Api) -> None:
    for body in ({"secret": "sk-new", "credits": -1}, {"secret": "sk-new", "concurrency": "1"},
                 {"secret": "sk-new", "extra": {"qps": 5}}):
        assert _admin(api, "PUT", "/accounts/topview/new-team", json=body).status_code == 400
        assert _admin(api, "GET", "/accounts/topview/new-team").status_code == 404
    long_key = "k" * 257
    response = _admin(api, "PUT", f"/accounts/topview/{long_key}", json={"secret": "sk"})
    assert response.status_code == 400 and len(response.text) < 500


BAD_AIDGE_LIMITS: list[dict[str, Any]] = [
    {"qps": "ten"}, {"qps": 0}, {"burst": 0}, {"qps": 1.5}, {"qps": True}, {"quota": None},
    {"quota": -1}, {"trial_quota": 10**10}, {"cutout_qps": 3}, {"quota": 5, "qps": 0},
]


def test_aidge_limits_are_named_and_ranged(api: Api) -> None:
    before = api.controls.account("aidge", "512345")
    for extra in BAD_AIDGE_LIMITS:
        response = _admin(api, "PUT", "/accounts/aidge/512345", json={"extra": extra})
        assert response.status_code == 400, (extra, response.text)
        assert api.controls.account("aidge", "512345") == before, extra
    unknown = _admin(api, "PUT", "/accounts/aidge/512345", json={"extra": {"cutout_qps": 3}})
    assert "burst, qps, quota, trial_quota" in unknown.json()["detail"]
    query = v2_query(int(api.engine.clock.now() * 1000))
    assert checked(api.http.post(CUT_OUT, params=query, json={
        "imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT"}))["success"]


def test_aidge_accounts_made_by_the_admin_api_can_call() -> None:
    mock = InProcessMock()
    try:
        limits = {"quota": 5, "trial_quota": 0, "qps": 3, "burst": 4}
        created = mock.set_account("aidge", "700001", secret="s3cret-700001", extra=limits)
        assert created["extra"] == limits
        made = mock.set_account("aidge", "700002", secret="s3cret-700002")
        # the demo account's limits; rates off on this virtual clock unless asked for (D64)
        assert made["extra"] == {"trial_quota": 100, "quota": 1000, "qps": None, "burst": None}
        with mock.client() as http:
            query = v2_query(int(mock.engine.clock.now() * 1000), "700002", "s3cret-700002")
            body = checked(http.post(CUT_OUT, params=query, json={
                "imageUrl": DOCS_URL, "backGroundType": "WHITE_BACKGROUND"}))
        assert body["success"], body
    finally:
        mock.close()


# --- Short answers that never echo the input ---

def test_admin_400s_are_short_and_echo_nothing(api: Api) -> None:
    huge = "x" * 200_000
    cases = [("POST", "/faults", {"provider": "topview", "fault": huge}),
             ("POST", "/faults", {"provider": huge, "fault": "error=4000"}),
             ("POST", "/clock/advance", {"seconds": huge}),
             ("POST", "/clock/advance", {huge: 1}),
             ("PUT", "/accounts/aidge/512345", {"extra": {huge: 1}}),
             ("PUT", "/accounts/topview/NsDAaOPF4jLuAie4ewyg", {"secret": huge})]
    for method, path, body in cases:
        response = _admin(api, method, path, json=body)
        assert response.status_code == 400, (path, response.status_code)
        detail = response.json()["detail"]
        assert isinstance(detail, str) and 10 < len(detail) <= 1100, detail
        assert "x" * 300 not in response.text
    detail = _admin(api, "POST", "/clock/advance", json={"seconds": "soon"}).json()["detail"]
    assert detail == "body.seconds: Input should be a valid number"
    _still_serving(api)


def test_admin_bodies_over_a_mebibyte_are_refused_unread(api: Api) -> None:
    response = _admin(api, "POST", "/faults", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                      headers={"content-type": "application/json"})
    assert response.status_code == 413 and len(response.text) < 100
    _still_serving(api)


# --- Text that cannot be encoded never gets stored ---

SURROGATES = [  # legal JSON, not encodable text
    ("PUT", "/accounts/topview/NsDAaOPF4jLuAie4ewyg", '{"secret": "sk-\\ud800"}'),
    ("PUT", "/accounts/topview/new-key", '{"secret": "\\udfff"}'),
    ("PUT", "/accounts/aidge/512345", '{"extra": {"\\ud800": 1}}'),
    ("POST", "/faults", '{"provider": "topview", "fault": "error=4000", "key": "\\ud800"}'),
    ("POST", "/faults", '{"provider": "topview", "fault": "fail=\\ud800"}'),
    ("POST", "/faults", '{"provider": "\\ud800", "fault": "error=4000"}'),
    ("POST", "/faults", '{"provider": "topview", "operation": "\\ud800", "fault": "fail"}'),
    ("POST", "/clock/advance", '{"\\ud800": 1}'),
]


def test_unencodable_text_is_refused_and_never_stored(api: Api) -> None:
    for method, path, body in SURROGATES:
        response = _raw(api, method, path, body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["detail"], body
    assert _admin(api, "GET", "/faults").json() == []
    assert _admin(api, "GET", "/accounts/topview/new-key").status_code == 404
    _still_serving(api)


# --- Typos are errors ---

def test_fault_rules_name_real_operations(api: Api) -> None:
    response = _admin(api, "POST", "/faults", json={"provider": "aidge", "operation": "cutout",
                                                     "fault": "error=500"})
    assert response.status_code == 400
    assert "cut_out" in response.json()["detail"]
    assert _admin(api, "GET", "/faults").json() == []
    for operation in ("*", "cut_out"):
        assert _admin(api, "POST", "/faults", json={
            "provider": "aidge", "operation": operation, "fault": "error=500"}).status_code == 201


def test_fault_rule_fields_are_typed_and_ranged(api: Api) -> None:
    rule = {"provider": "topview", "fault": "error=4000"}
    for bad in ({"count": True}, {"count": 1.5}, {"count": 10**10}, {"count": "3"},
                {"count": -1}, {"opertion": "credit_detail"}, {"fault": 4000}, {"key": 7}):
        assert _admin(api, "POST", "/faults", json={**rule, **bad}).status_code == 400, bad
    assert _admin(api, "GET", "/faults").json() == []
    assert _admin(api, "POST", "/faults", json={**rule, "count": 10**9}).status_code == 201


def test_journal_and_task_filters_are_checked(api: Api) -> None:
    for query in ("limit=0", "limit=-1", "limit=10000000", "limit=abc", "limit=1e3",
                  "limit=" + "9" * 5000, "provider=topveiw"):
        response = _admin(api, "GET", f"/journal?{query}")
        assert response.status_code == 400 and len(response.text) < 500, query
    assert _admin(api, "GET", "/tasks?provider=topveiw").status_code == 400
    assert _admin(api, "GET", "/journal?limit=1000000&provider=aidge").status_code == 200


def test_fault_rules_are_bounded(api: Api) -> None:
    for _ in range(MAX_RULES):
        api.engine.faults.add("topview", "credit_detail", parse("error=5000"))
    response = _admin(api, "POST", "/faults", json={"provider": "topview", "fault": "fail"})
    assert response.status_code == 400 and "too many" in response.json()["detail"]
    assert len(_admin(api, "GET", "/faults").json()) == MAX_RULES


# --- The whole admin surface under arbitrary input ---

TEXT = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    ["topview", "aidge", "*", "cut_out", "credit_detail", "remove_background_submit",
     "error=4000", "error=500", "fail", "stuck", "polls=2", "sk-x", "\ud800", "x" * 2000,
     "NsDAaOPF4jLuAie4ewyg", "512345", "qps", "burst", "quota", "trial_quota"])
NUMBER = (st.integers(min_value=-(2**70), max_value=2**70) | st.floats()
          | st.sampled_from([0, 1, 10**6, 10**9, 10**10, 1e308, 2.6e11, -0.0]))
JSON = st.recursive(st.none() | st.booleans() | NUMBER | TEXT,
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
FIELDS = ("seconds", "provider", "operation", "fault", "key", "count", "secret", "credits",
          "concurrency", "extra")
BODY = JSON | st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5)
PATH_PART = st.sampled_from(["topview", "aidge", "nope", "NsDAaOPF4jLuAie4ewyg", "512345",
                             "1", "-1", "99999999999999999999999", "%ED%A0%80", "k" * 300,
                             "%00", "a%2Fb"]) | st.from_regex(r"[A-Za-z0-9_.~-]{1,12}",
                                                               fullmatch=True).filter(
    lambda part: part not in (".", ".."))  # dot segments: clients rewrite the path itself
WRITE = st.one_of(
    st.tuples(st.just("POST"), st.just("/clock/advance"), BODY),
    st.tuples(st.just("POST"), st.just("/faults"), BODY),
    st.tuples(st.just("PUT"), st.builds("/accounts/{}/{}".format, PATH_PART, PATH_PART), BODY),
    st.tuples(st.just("DELETE"), st.builds("/faults/{}".format, PATH_PART), st.none()),
    st.tuples(st.sampled_from(["GET", "HEAD"]),
              st.builds("/journal?limit={}&provider={}".format, PATH_PART, PATH_PART),
              st.none()),
    st.tuples(st.sampled_from(["GET", "POST", "PATCH"]),
              st.builds("/accounts/{}/{}".format, PATH_PART, PATH_PART), st.none()),
)


def _declared(openapi: dict[str, Any], method: str, path: str) -> set[str]:
    """The statuses the admin OpenAPI declares for this request's operation."""
    bare, method = path.split("?")[0], "GET" if method == "HEAD" else method
    for template, item in openapi["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, bare) and method.lower() in item:
            return set(item[method.lower()]["responses"])
    return set()


def test_arbitrary_admin_input_never_breaks_the_mock() -> None:
    mock = InProcessMock()
    try:
        with mock.client() as http:
            openapi = http.get("/__admin/openapi.json").json()

            @settings(max_examples=200, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])
            @given(WRITE)
            def check(call: tuple[str, str, Any]) -> None:
                method, path, body = call
                content = None if body is None else json.dumps(body).encode()
                response = http.request(method, f"/__admin{path}", content=content,
                                        headers={"content-type": "application/json"})
                assert response.status_code < 500, (call, response.text)
                assert len(response.content) < 5000 or response.status_code < 400
                declared = _declared(openapi, method, path)
                if declared:  # an operation of the API: its answer is declared
                    assert str(response.status_code) in declared, (call, response.status_code)
                else:
                    assert response.status_code in (404, 405), call
                for probe in ("/__admin/health", "/__admin/accounts", "/__admin/tasks",
                              "/__admin/clock", "/__admin/faults", "/__admin/journal"):
                    assert http.get(probe).status_code == 200, (call, probe)
                credit = http.get(CREDIT, headers=DEMO)
                assert credit.status_code == 200, (call, credit.text)
                http.delete("/__admin/faults")  # a rule may rightly change the next answer
                http.put("/__admin/accounts/topview/NsDAaOPF4jLuAie4ewyg",
                         json={"secret": DEMO["Authorization"][7:], "credits": 1000})

            check()
    finally:
        mock.close()


def test_admin_openapi_declares_every_answer_with_an_error_schema(http: httpx.Client) -> None:
    document = http.get("/__admin/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["AdminError"]["properties"]["detail"]["type"] == "string"
    assert "HTTPValidationError" not in schemas
    with_input = {("post", "/clock/advance"), ("post", "/faults"), ("delete", "/faults/{rule_id}"),
                  ("get", "/journal"), ("get", "/tasks"), ("put", "/accounts/{provider}/{key}")}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            expected = {"401", "413"} | ({"400"} if (method, path) in with_input else set()) \
                | ({"404"} if "{" in path else set())
            assert expected <= set(responses), (method, path, sorted(responses))
            for status in expected:
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/AdminError"}, (path, status)
