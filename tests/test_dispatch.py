"""Operations named by the provider (D80): path + method, a body field (PICPIK's ``Action``) or
per item of a JSON array (Runware's ``taskType``), proven on test-only providers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bgmock.contracts.index import ContractError, routes
from bgmock.server.app import create_app
from bgmock.server.core.dispatch import ProviderApp
from bgmock.server.core.engine import Engine
from bgmock.server.providers import all_providers
from bgmock.server.settings import Settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from bgmock import contracts
from tests.fake_providers import SECRET, ActionsSpec, echo, fake_providers

AUTH = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(Settings(clock="virtual", seed=7),
                     providers=[*all_providers(), *fake_providers()])
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def fresh(client: TestClient) -> None:
    client.post("/__admin/reset")


def journal(client: TestClient, provider: str) -> list[dict[str, Any]]:
    return client.get("/__admin/journal", params={"provider": provider}).json()


# --- operations.json: one key, one operation ---------------------------------------------

def op(path: str = "/", method: str = "POST", **more: Any) -> dict[str, Any]:
    return {"method": method, "path": path, "in": "body", **more}


def test_two_operations_on_one_route_fail_with_both_names() -> None:
    with pytest.raises(ContractError, match=r"duplicate operation key POST /: 'a' and 'b'"):
        routes("p", {"a": op(), "b": op()})


def test_two_operations_with_one_body_value_fail() -> None:
    select = {"field": "Action", "value": "Go"}
    with pytest.raises(ContractError, match=r"Action='Go': 'a' and 'b'"):
        routes("p", {"a": op(select=select), "b": op(select=select)})


def test_a_route_is_named_one_way_only() -> None:
    with pytest.raises(ContractError, match="name their operation differently"):
        routes("p", {"a": op(), "b": op(select={"field": "Action", "value": "B"})})
    with pytest.raises(ContractError, match="name their operation differently"):
        routes("p", {"a": op(select={"field": "Action", "value": "A"}),
                     "b": op(select={"field": "Kind", "value": "B"})})


def test_items_need_a_selecting_field_and_sources_are_known() -> None:
    with pytest.raises(ContractError, match="needs \"select\""):
        routes("p", {"a": op(**{"in": "items"})})
    with pytest.raises(ContractError, match="\"in\" must be one of"):
        routes("p", {"a": op(**{"in": "header"})})


def test_one_path_two_methods_and_two_values_are_distinct_keys() -> None:
    found = routes("p", {"a": op(method="GET"), "b": op(),
                         "c": op("/x", select={"field": "Action", "value": "C"}),
                         "d": op("/x", select={"field": "Action", "value": "D"})})
    assert set(found) == {("/", "GET"), ("/", "POST"), ("/x", "POST")}
    assert set(found[("/x", "POST")].operations) == {"C", "D"}


def test_a_duplicate_in_a_providers_contract_stops_the_start(tmp_path: Path) -> None:
    folder = tmp_path / "dup"
    folder.mkdir()
    (folder / "operations.json").write_text(json.dumps({"operations": {
        "first": {"method": "GET", "path": "/same", "in": "query"},
        "second": {"method": "GET", "path": "/same", "in": "query"}}}))
    contracts.register("duptest", folder)

    class DupSpec(ActionsSpec):
        name = "duptest"

    engine = Engine(Settings(clock="virtual"), [])
    with pytest.raises(ContractError, match="'first' and 'second'"):
        ProviderApp(DupSpec(engine), engine, {"first": echo, "second": echo})


def test_the_served_contracts_have_no_duplicate_keys() -> None:
    for provider in contracts.providers():
        assert routes(provider, contracts.operations(provider)["operations"])


# --- a body field names the operation -------------------------------------------------------

def test_the_action_field_picks_the_operation(client: TestClient) -> None:
    echo = client.post("/actions/", json={"Action": "Echo", "Text": "hi"}, headers=AUTH).json()
    add = client.post("/actions/", json={"Action": "Add", "A": 2, "B": 40}, headers=AUTH).json()
    assert echo["RetCode"] == 0 and echo["Action"] == "Echo" and echo["Text"] == "hi"
    assert add["RetCode"] == 0 and add["Action"] == "Add" and add["Sum"] == 42
    assert [(e["operation"], e["code"]) for e in journal(client, "actions")] == \
        [("echo", "ok"), ("add", "ok")]
    assert journal(client, "actions")[0]["echoed"] == 2  # extras per operation


def test_a_missing_or_unknown_action_gets_the_providers_own_codes(client: TestClient) -> None:
    missing = client.post("/actions/", json={"Text": "hi"}, headers=AUTH)
    unknown = client.post("/actions/", json={"Action": "ListModels"}, headers=AUTH)
    assert missing.status_code == unknown.status_code == 200
    assert missing.json()["RetCode"] == 160
    assert unknown.json() == {"RetCode": 161, "Message": "Action 'ListModels' does not exist"}
    assert [(e["operation"], e["code"]) for e in journal(client, "actions")] == \
        [("", "160"), ("", "161")]


def test_each_named_operation_runs_its_own_checks(client: TestClient) -> None:
    bad_add = client.post("/actions/", json={"Action": "Add", "A": "x", "B": 1}, headers=AUTH)
    no_auth = client.post("/actions/", json={"Action": "Echo", "Text": "hi"})
    not_json = client.post("/actions/", content=b"{nope", headers=AUTH)
    bug = client.post("/actions/", json={"Action": "Echo", "Text": "boom"}, headers=AUTH)
    assert bad_add.json()["RetCode"] == 230
    assert no_auth.json()["RetCode"] == 172
    assert not_json.json() == {"RetCode": 230, "Message": "Params [body] not available"}
    assert bug.status_code == 200 and bug.json()["RetCode"] == 500
    assert client.get("/actions/").status_code == 405


def test_a_fault_rule_hits_only_its_operation(client: TestClient) -> None:
    rule = client.post("/__admin/faults", json={"provider": "actions", "operation": "add",
                                                "fault": "error=153"})
    assert rule.status_code == 201, rule.text
    add = client.post("/actions/", json={"Action": "Add", "A": 1, "B": 1}, headers=AUTH)
    echo = client.post("/actions/", json={"Action": "Echo", "Text": "x"}, headers=AUTH)
    assert add.json()["RetCode"] == 153 and echo.json()["RetCode"] == 0


def test_the_pipeline_draws_one_request_id_per_request(client: TestClient) -> None:
    ids = {client.post("/actions/", json={"Action": "Echo", "Text": "x"},
                       headers=AUTH).json()["RequestId"] for _ in range(3)}
    assert len(ids) == 3


def test_operations_sharing_a_route_share_one_openapi_operation(client: TestClient) -> None:
    document = client.get("/actions/openapi.json").json()
    (post,) = document["paths"]["/"].values()
    assert post["operationId"] == "echo_add"
    assert len(post["requestBody"]["content"]["application/json"]["schema"]["oneOf"]) == 2


# --- each item names its operation ----------------------------------------------------------

def test_each_item_is_run_and_answered_in_one_body(client: TestClient) -> None:
    tasks = [{"taskType": "echo", "taskUUID": "t1", "text": "hi"},
             {"taskType": "add", "taskUUID": "t2", "a": 1, "b": 2},
             {"taskType": "upscale", "taskUUID": "t3"},
             {"taskType": "add", "taskUUID": "t4", "a": "one", "b": 2}]
    answer = client.post("/batch/v1", json=tasks, headers=AUTH)
    assert answer.status_code == 200
    body = answer.json()
    assert body["data"] == [{"taskType": "echo", "taskUUID": "t1", "text": "hi"},
                            {"taskType": "add", "taskUUID": "t2", "sum": 3}]
    assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == \
        [("unsupportedTaskType", "t3"), ("invalidParameter", "t4")]
    assert [(e["operation"], e["code"]) for e in journal(client, "batch")] == \
        [("echo", "ok"), ("add", "ok"), ("", "unsupportedTaskType"), ("add", "invalidParameter")]


def test_only_errors_answer_with_the_first_errors_status(client: TestClient) -> None:
    unknown = client.post("/batch/v1", json=[{"taskType": "x", "taskUUID": "u"}], headers=AUTH)
    no_auth = client.post("/batch/v1", json=[{"taskType": "echo", "taskUUID": "u",
                                              "text": "a"}])
    assert unknown.status_code == 400 and "data" not in unknown.json()
    assert no_auth.status_code == 401
    assert no_auth.json()["errors"][0]["code"] == "invalidApiKey"


def test_a_body_that_is_not_an_array_is_the_providers_error(client: TestClient) -> None:
    for body in (b"{}", b"[]", b"nope", json.dumps([{}] * 1001).encode()):
        answer = client.post("/batch/v1", content=body, headers=AUTH)
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == "invalidPayload"


def test_a_fault_rule_hits_only_the_items_of_its_operation(client: TestClient) -> None:
    client.post("/__admin/faults", json={"provider": "batch", "operation": "add",
                                         "fault": "error=busy"})
    tasks = [{"taskType": "add", "taskUUID": "a", "a": 1, "b": 1},
             {"taskType": "echo", "taskUUID": "e", "text": "x"}]
    body = client.post("/batch/v1", json=tasks, headers=AUTH).json()
    assert [d["taskUUID"] for d in body["data"]] == ["e"]
    assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == [("busy", "a")]


def test_a_bad_fault_header_is_the_mocks_400_for_the_whole_request(client: TestClient) -> None:
    answer = client.post("/batch/v1", json=[{"taskType": "echo", "taskUUID": "e", "text": "x"}],
                         headers={**AUTH, "X-Mock-Fault": "error=nope"})
    assert answer.status_code == 400 and "bgmockError" in answer.json()


def test_host_routing_reaches_a_per_item_provider(client: TestClient) -> None:
    answer = client.post("/v1", json=[{"taskType": "echo", "taskUUID": "h", "text": "x"}],
                         headers={**AUTH, "Host": "api.batch.test"})
    assert answer.status_code == 200 and answer.json()["data"][0]["taskUUID"] == "h"


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(["Action", "taskType", "taskUUID", "A",
                                                       "B", "a", "b", "text", "Text"]),
                                      inner | st.sampled_from(["Echo", "Add", "echo", "add"]),
                                      max_size=5),
                    max_leaves=12)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON)
def test_any_json_gets_the_providers_own_answer(client: TestClient, body: Any) -> None:
    actions = client.post("/actions/", json=body, headers=AUTH)
    batch = client.post("/batch/v1", json=body, headers=AUTH)
    assert actions.status_code == 200 and isinstance(actions.json()["RetCode"], int)
    assert batch.status_code in (200, 400)
    assert set(batch.json()) <= {"data", "errors"} and batch.json()
