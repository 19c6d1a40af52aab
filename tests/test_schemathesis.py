"""Schemathesis over each provider's OpenAPI document (``/<provider>/openapi.json``), in-process.

Every check Schemathesis has runs (``--checks all``) except the few that read the HTTP status
where these providers answer with HTTP 200 and an error envelope (decisions T1, T2, A3, D23).
Those are not dropped but fed the status the envelope stands for (:func:`by_envelope`), so
"bad input is rejected", "a missing header is rejected" and "no server error" are still checked,
in the providers' own terms. Examples are few and the clock virtual, so the run stays short.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis  # a test extra: a missing install must fail, not skip
from bgmock.server.app import create_app
from bgmock.server.core import imaging
from bgmock.server.providers.aidge import signing
from bgmock.server.providers.picpik import signing as picpik_signing
from bgmock.server.settings import Settings
from bgmock.server.testing import SyncASGITransport
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
)

from bgmock import contracts
from tests.topview_calls import DEMO

RUNWARE = {"Authorization": "Bearer runware-demo-key"}  # R27
AIDGE_KEY, AIDGE_SECRET = "512345", "S4etzZ73nF08vOXVhk3wZjIaLSHw0123"  # the samples' demo (A15)
SYSTEM = set(contracts.load("aidge", "gateway.request")["properties"])  # app_key, sign, ...
PRODUCT = imaging.synthetic_product("schemathesis", 160, 120)
PHOTOS = {fmt: imaging.encode(PRODUCT, fmt) for fmt in ("png", "jpg", "jpeg", "webp", "bmp")}
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

# Checks that read only the HTTP status, which these providers keep at 200 for their errors:
OFF_FOR_BOTH = {
    # Invalid input must get HTTP 4xx; Topview answers 200 with 4000/4001/4003 (T1, T3),
    # Aidge 200 with a gateway error or resCode 700 (A3, A6). Re-run below by envelope.
    "negative_data_rejection": {"enabled": False},
    # A request without a required header must get 4xx (401 for Authorization); Topview
    # answers 200 {"code":"401"} (T2). Re-run below by envelope.
    "missing_required_header": {"enabled": False},
    # A request without credentials must get HTTP 401/403; Topview answers 200 {"code":"401"}
    # (T2). Replaced below by auth_enforced, which asks for that envelope.
    "ignored_auth": {"enabled": False},
}
OFF = {
    # Runware (R9): an array with any task that succeeded is HTTP 200 beside the refused ones,
    # so a negative case keeping one valid task is not refused as a whole; schema-valid tasks
    # may still fail (a reused taskUUID, an image UUID nobody uploaded); ping needs no key.
    "runware": {**OFF_FOR_BOTH, "positive_data_acceptance": {"enabled": False}},
    "topview": OFF_FOR_BOTH,
    # The Aidge gateway answers any undocumented method with HTTP 200 InvalidApiPath (D23), no
    # 405 and no Allow header; Topview's 405 (D4) keeps the check.
    "aidge": {**OFF_FOR_BOTH, "unsupported_method": {"enabled": False}},
    "picpik": OFF_FOR_BOTH,  # HTTP 200 + RetCode for every API error (K2); 405 kept (K14)
}

# What each error envelope would be as an HTTP status, for the checks above.
TOPVIEW_CODES = {"200": 200, "401": 401, "404": 404, "405": 405, "4004": 404, "4007": 429,
                 "4100": 402}
AIDGE_GATEWAY = {"InvalidAppKey": 401, "IncompleteSignature": 401, "IllegalTimestamp": 401,
                 "NoResource": 403, "InvalidApiPath": 404, "ApiCallLimit": 429}


# PICPIK's RetCodes as HTTP statuses (K6, D182); anything else is a 400 (bad parameter).
PICPIK_CODES = {0: 200, 170: 401, 171: 401, 172: 401, 153: 429, 520: 402, 150: 500, 110: 504,
                130: 502}


def envelope_status(provider: str, status: int, body: Any) -> int:
    if status != 200 or not isinstance(body, dict):
        return status
    if provider == "topview":
        code = str(body.get("code"))
        return TOPVIEW_CODES.get(code, 500 if code[:1] == "5" else 400)
    if "type" in body and body.get("code") not in (None, "", "0"):      # gateway error (A3)
        return AIDGE_GATEWAY.get(str(body["code"]), 400)
    if provider == "picpik":
        return PICPIK_CODES.get(body.get("RetCode"), 400)
    if body.get("success") is False:                                    # business error (A6)
        return {500: 500, 501: 429}.get(body.get("resCode"), 400)
    return 200


def by_envelope(provider: str, check: Callable[..., Any]) -> Callable[..., Any]:
    """``check`` judging the HTTP status the provider's envelope stands for."""
    def judged(ctx: Any, response: Any, case: Any) -> Any:
        mapped = copy.copy(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        mapped.status_code = envelope_status(provider, response.status_code, body)
        return check(ctx, mapped, case)
    judged.__name__ = f"{check.__name__}_by_envelope"
    return judged


def auth_enforced(ctx: Any, response: Any, case: Any) -> None:
    """Topview: what succeeded with the demo credentials is refused without them (T2)."""
    if response.status_code != 200 or response.json().get("code") != "200":
        return
    bare = case.call(headers={"Topview-Uid": "", "Authorization": ""})
    assert bare.json() == {"code": "401", "message": "Unauthorized, need to login again",
                           "result": None}, f"{case.method} {case.path} answered without auth"


def extra_checks(provider: str) -> list[Callable[..., Any]]:
    from schemathesis.checks import not_a_server_error  # Topview 5000 / Aidge 500 = a crash

    found = [by_envelope(provider, c) for c in (negative_data_rejection, missing_required_header,
                                                not_a_server_error)]
    if provider == "picpik":
        # Not positive_data_acceptance: an OpenAPI document cannot say that RawImage must
        # decode to an image, nor that a task id must be one the key submitted (K12, D183).
        return found
    if provider == "aidge":
        # Not positive_data_acceptance by envelope: an OpenAPI document cannot say that
        # imageBase64 must decode to an image, nor (GET, one parameter each) that one of
        # imageUrl/imageBase64 is non-empty, so schema-valid requests get 700/704 by design.
        return found
    return [*found, by_envelope(provider, positive_data_acceptance), auth_enforced]


def load(provider: str) -> tuple[Any, Any]:
    """A fresh mock on a virtual clock and its provider document, loaded the way a user would
    (over HTTP, relative ``servers`` entry first: no base URL given)."""
    app = create_app(Settings(clock="virtual"))
    config = SchemathesisConfig.from_dict({
        "checks": OFF[provider],
        "headers": DEMO if provider == "topview" else RUNWARE if provider == "runware" else {},
    })
    return app, schemathesis.openapi.from_asgi(f"/{provider}/openapi.json", app, config=config)


def sign(app: Any, case: Any) -> None:
    """Aidge: give a case a valid v2 signature at the mock's time (A1, A2), unless it is meant to
    probe the gateway (a negative case that mutated a system parameter, or an unknown one)."""
    if not isinstance(case.query, dict):
        return
    if case.meta is not None and case.meta.generation.mode.is_negative:
        data = case.meta.phase.data
        mutated = {data.parameter, *(m.parameter for m in data.mutations)} - {None}
        if not mutated or mutated & SYSTEM:
            return
    timestamp = str(int(app.state.engine.clock.now() * 1000))
    case.query.update(app_key=AIDGE_KEY, timestamp=timestamp, sign_method="sha256",
                      sign_ver="v2", sign=signing.sign_v2(AIDGE_SECRET, timestamp))


TOPVIEW_APP, TOPVIEW = load("topview")
AIDGE_APP, AIDGE = load("aidge")
PICPIK_APP, PICPIK = load("picpik")


def sign_picpik(case: Any) -> None:
    """PICPIK: a positive case is sent as the signature page's test key, signed (K3, K16); a
    negative one as generated (it may probe PublicKey or Signature)."""
    if not isinstance(case.body, dict):
        return
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return
    body = {k: v for k, v in case.body.items() if k not in ("Signature", "signature")}
    body["PublicKey"] = "abcdefg"
    case.body = {**body, "Signature": picpik_signing.sign(body, "123456")}


@PICPIK.parametrize()
@SETTINGS
def test_picpik_conforms(case: Any) -> None:
    PICPIK_APP.state.engine.clock.advance(5)  # tasks end; the key's open tasks stay few
    sign_picpik(case)
    case.call_and_validate(additional_checks=extra_checks("picpik"))


@TOPVIEW.parametrize()
@SETTINGS
def test_topview_conforms(case: Any) -> None:
    TOPVIEW_APP.state.engine.clock.advance(2)  # tasks move on; the concurrency limit frees up
    case.call_and_validate(additional_checks=extra_checks("topview"))


@AIDGE.parametrize()
@SETTINGS
def test_aidge_conforms(case: Any) -> None:
    AIDGE_APP.state.engine.clock.advance(1)  # a new rate-limit second for every case
    sign(AIDGE_APP, case)
    case.call_and_validate(additional_checks=extra_checks("aidge"))


def test_topview_links_chain_calls() -> None:
    """The stateful phase: credential -> (PUT) -> check -> submit -> query, following the
    document's links; every answer on the way passes the same checks."""
    machine = TOPVIEW.as_state_machine()
    transport = SyncASGITransport(TOPVIEW_APP)
    files = httpx.Client(transport=transport)

    class Run(machine):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            TOPVIEW_APP.state.engine.clock.advance(6)  # a task submitted a step ago is done

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            body = response.json()
            if case.operation.path == "/v1/upload/credential" and body.get("code") == "200" \
                    and body["result"]["format"] in PHOTOS:
                # What a client does between credential and check (the presigned PUT is not
                # an API operation): so check -> submit -> query reach a real task.
                put = files.put(body["result"]["uploadUrl"],
                                content=PHOTOS[body["result"]["format"]])
                assert put.status_code == 200, put.text

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            super().validate_response(response, case, additional_checks=extra_checks("topview"),
                                      **kwargs)

    try:
        Run.run(settings=settings(max_examples=15, stateful_step_count=6, deadline=None,
                                  suppress_health_check=list(HealthCheck)))
    finally:
        files.close()
        transport.shutdown()


# --- the documents themselves ----------------------------------------------------------------

@pytest.mark.parametrize("provider", contracts.providers())
def test_documents_are_valid_openapi_3_1(provider: str) -> None:
    from jsonschema import Draft202012Validator
    from schemathesis.specs.openapi.definitions import OPENAPI_31  # the OAS 3.1 meta-schema

    document = contracts.openapi(provider)
    problems = [e.message for e in Draft202012Validator(OPENAPI_31).iter_errors(document)]
    assert problems == []
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("provider", contracts.providers())
def test_mock_prefix_is_the_first_server_and_the_real_hosts_stay(provider: str) -> None:
    servers = [s["url"] for s in contracts.openapi(provider)["servers"]]
    assert servers[0] == f"/{provider}"
    assert {"topview": "https://api.topview.ai", "aidge": "https://api.aidc-ai.com",
            "picpik": "https://api.picpik.ai",
            "runware": "https://api.runware.ai"}[provider] in servers


def test_a_tool_given_only_the_document_url_reaches_the_mock() -> None:
    from bgmock.server.testing import running_server

    with running_server(Settings(clock="virtual", port=0)) as server:
        schema = schemathesis.openapi.from_url(f"{server.base_url}/topview/openapi.json")
        operation = next(iter(schema.get_all_operations())).ok()
        assert operation.base_url == f"{server.base_url}/topview"


def test_links_chain_credential_check_submit_query() -> None:
    document = contracts.openapi("topview")
    ids = {op["operationId"]: (path, method) for path, item in document["paths"].items()
           for method, op in item.items()}
    found = {}
    for item in document["paths"].values():
        for op in item.values():
            for link in op["responses"]["200"].get("links", {}).values():
                assert link["operationId"] in ids
                found[op["operationId"]] = link
    assert found["upload_credential"]["parameters"] == {"fileId": "$response.body#/result/fileId"}
    assert found["upload_check"]["requestBody"] == {"productImageFileId": "$request.query.fileId"}
    assert found["remove_background_submit"]["parameters"] == {
        "taskId": "$response.body#/result/taskId"}
    for source, pointer in (("upload_credential", "fileId"),
                            ("remove_background_submit", "taskId")):
        result = contracts.load("topview", f"{source}.response")["properties"]["result"]
        assert pointer in result["required"]            # the link always finds its value


def test_query_parameters_carry_the_docs_examples() -> None:
    query = contracts.openapi("topview")["paths"]["/v1/common_task/remove_background/query"]
    task_id = next(p for p in query["get"]["parameters"] if p["name"] == "taskId")
    values = [e["value"] for e in task_id["examples"].values()]
    assert values == ["56eac11a862143989e9cc63f8b213a2d", "4274b375c30844c8bd0b1e4b6e44fb5f"]


def test_a_link_to_an_operation_with_several_methods_is_refused(monkeypatch) -> None:
    index = copy.deepcopy(contracts.operations("aidge"))
    index["operations"]["cut_out"]["links"] = {"Again": {"operationId": "cut_out"}}
    monkeypatch.setattr(contracts, "operations", lambda provider: index)
    with pytest.raises(ValueError, match="one-method"):
        contracts._links("aidge", "cut_out", index["operations"]["cut_out"])


def test_a_wrong_method_gets_405_with_allow(http: httpx.Client) -> None:
    """RFC 9110: a 405 lists the methods the resource has (Schemathesis found it missing)."""
    response = http.delete("/topview/v1/common_task/remove_background/submit", headers=DEMO)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["code"] == "405"
    assert http.put("/topview/openapi.json").headers["allow"] == "GET, HEAD"  # D46


# --- Runware ----------------------------------------------------------------------------------

RUNWARE_APP, RUNWARE_SCHEMA = load("runware")


@RUNWARE_SCHEMA.parametrize()
@SETTINGS
def test_runware_conforms(case: Any) -> None:
    """Every answer is a documented status with Runware's body; no server error (the statuses
    are Runware's own, so the checks read them as they are)."""
    from schemathesis.checks import not_a_server_error

    RUNWARE_APP.state.engine.clock.advance(3)  # async tasks end
    case.call_and_validate(additional_checks=[not_a_server_error])
