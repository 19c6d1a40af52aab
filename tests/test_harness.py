"""The provider-neutral harness itself: a provider plugs in with a Target subclass (its name and
auth hook) and runs in-process and over the wire; every answer is checked by the contracts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bgmock import contracts
from tests.aidge_calls import DOCS_URL, AidgeApi
from tests.harness import MODES, Target, answer_check, operation_of, target_fixture
from tests.recording import Recorder
from tests.topview_calls import DEMO, TopviewApi


class Anonymous(TopviewApi):
    """Topview without credentials: a new target is a class and one fixture line."""

    def credentials(self) -> dict[str, Any]:
        return {}


anonymous = target_fixture(Anonymous, "anonymous")


def test_both_modes_reach_the_mock(api: TopviewApi) -> None:
    assert api.mode in MODES
    assert api.controls.health()["status"] == "ok"
    assert api.call("credit_detail")["code"] == "200"
    assert [e["operation"] for e in api.controls.journal("topview")] == ["credit_detail"]


def test_the_auth_hook_signs_calls_and_a_callers_argument_wins(anonymous: Anonymous) -> None:
    refused = anonymous.call("credit_detail")          # checked as error.response on the way
    assert refused["code"] != "200"
    assert anonymous.call("credit_detail", headers=DEMO)["code"] == "200"
    signed = anonymous.view(TopviewApi)
    assert signed.call("credit_detail")["code"] == "200"
    assert signed.call("credit_detail", headers={})["code"] == refused["code"]


def test_a_second_provider_plugs_in(aidge_api: AidgeApi) -> None:
    body = aidge_api.cut({"imageUrl": DOCS_URL, "backGroundType": "WHITE_BACKGROUND"})
    assert body["success"] is True and body["data"]["imageUrl"]
    (entry,) = aidge_api.controls.journal("aidge")
    assert entry["operation"] == "cut_out"
    unsigned = aidge_api.call("cut_out", "GET", params={})
    assert unsigned["type"] and unsigned["code"] == "InvalidAppKey"  # no app_key at all


def test_call_names_the_operation_and_the_method(aidge_api: AidgeApi) -> None:
    with pytest.raises(KeyError):
        aidge_api.call("no_such_operation")
    assert Target.provider == "" and Target.credentials(aidge_api) == {}


def test_operation_of_reads_method_and_path_from_the_contracts() -> None:
    def request(method: str, path: str) -> httpx.Request:
        return httpx.Request(method, f"http://bgmock.test{path}")

    assert operation_of("topview", request("GET", "/topview/user/credit/detail")) == (
        "credit_detail")
    assert operation_of("topview", request("POST", "/topview/user/credit/detail")) is None
    assert operation_of("aidge", request("GET", "/aidge/rest/ai/image/cut/out")) == "cut_out"
    assert operation_of("aidge", request("PUT", "/aidge/rest/ai/image/cut/out")) is None


def test_a_recorder_checks_every_answer_of_its_provider() -> None:
    credit = contracts.load("topview", "credit_detail.response")["examples"][0]
    bodies = iter([credit,
                   {"code": "4004", "message": "no", "result": None},
                   {"bgmockError": "a control error"},
                   {**credit, "result": "not a credit"},
                   {"not": "looked at"}])
    recorder = Recorder(httpx.MockTransport(lambda r: httpx.Response(200, json=next(bodies))),
                        answer_check("topview"))
    with httpx.Client(transport=recorder, base_url="http://bgmock.test/topview") as http:
        for _ in range(3):
            http.get("/user/credit/detail")
        with pytest.raises(contracts.ContractViolation):
            http.get("/user/credit/detail")
        http.put("/files/upload/x", content=b"bytes")  # storage: not checked
    assert recorder.validated == ["credit_detail.response", "error.response"]
