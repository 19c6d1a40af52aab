"""Which response schema an answer body falls under: one rule set per provider, in its contract
data (``answers`` in ``operations.json``), read by :func:`contracts.response_schema`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgmock import contracts

PROVIDERS = contracts.providers()


def _answer_schemas(provider: str) -> list[str]:
    return [rule["schema"] for rule in contracts.operations(provider)["answers"]]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_answer_rule_names_a_schema_of_the_provider(provider: str) -> None:
    names = set(contracts.names(provider))
    for rule in contracts.operations(provider)["answers"]:
        assert set(rule["when"]) <= {"present", "equals"}, rule
        for operation in contracts.operations(provider)["operations"]:
            assert rule["schema"].replace("{operation}", operation) in names, rule
    assert any("{operation}" in s for s in _answer_schemas(provider))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_openapi_error_list_agrees_with_the_answers(provider: str) -> None:
    fixed = [s for s in _answer_schemas(provider) if "{operation}" not in s]
    assert sorted(contracts.operations(provider).get("errors", ["error.response"])) == sorted(fixed)


def _examples_of_answers() -> Iterator[tuple[str, str, str, object]]:
    for provider in PROVIDERS:
        for operation in contracts.operations(provider)["operations"]:
            for template in _answer_schemas(provider):
                name = template.replace("{operation}", operation)
                for example in contracts.load(provider, name).get("examples", []):
                    yield provider, operation, name, example


@pytest.mark.parametrize(("provider", "operation", "name", "example"),
                         list(_examples_of_answers()))
def test_every_documented_answer_is_told_apart(provider: str, operation: str, name: str,
                                               example: object) -> None:
    assert contracts.response_schema(provider, operation, example) == name
    assert contracts.check_response(provider, operation, example) == name


@pytest.mark.parametrize(("provider", "body", "schema"), [
    ("topview", {"code": "200", "message": "Success", "result": {"remainCredit": 5}},
     "credit_detail.response"),
    ("topview", {"code": 200, "message": "Success", "result": {}}, "error.response"),  # exact
    ("topview", {"code": "401", "message": "Unauthorized", "result": None}, "error.response"),
    ("topview", {"bgmockError": "unknown fault"}, None),
    ("aidge", {"type": "ISV", "code": "InvalidApiPath", "message": "x", "request_id": "r"},
     "gateway_error.response"),
    ("aidge", {"resCode": 200, "success": 1}, "failure.response"),  # 1 is not true
    ("aidge", {"success": True}, None),  # no resCode: not the business envelope
    ("aidge", {"code": "0"}, None),
])
def test_rules_match_fields_and_exact_values(provider: str, body: object,
                                             schema: str | None) -> None:
    operation = next(iter(contracts.operations(provider)["operations"]))
    if provider == "topview":
        operation = "credit_detail"
    assert contracts.response_schema(provider, operation, body) == schema


@pytest.mark.parametrize("body", [None, "text", 3, ["code"], []])
def test_a_body_that_is_no_object_is_no_answer(body: object) -> None:
    assert contracts.response_schema("topview", "credit_detail", body) is None


def test_unknown_operation_or_none_for_a_success() -> None:
    with pytest.raises(KeyError, match="no operation"):
        contracts.response_schema("topview", "nothing", {"code": "401"})
    with pytest.raises(ValueError, match="needs the operation"):
        contracts.response_schema("topview", None, {"code": "200"})
    assert contracts.response_schema("topview", None, {"code": "401"}) == "error.response"


def test_check_response_refuses_what_no_rule_or_schema_allows() -> None:
    with pytest.raises(contracts.ContractViolation, match="not an answer of aidge"):
        contracts.check_response("aidge", "cut_out", {"bgmockError": "x"})
    with pytest.raises(contracts.ContractViolation, match=r"error\.response"):
        contracts.check_response("topview", "credit_detail", {"code": "401"})


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELDS = st.sampled_from(["code", "type", "resCode", "success", "message", "result"])
BODIES = st.dictionaries(FIELDS | st.text(max_size=6), JSON, max_size=6) | JSON


@settings(max_examples=300, deadline=None)
@given(provider=st.sampled_from(PROVIDERS), body=BODIES)
def test_any_body_gets_a_schema_name_or_none(provider: str, body: object) -> None:
    for operation in contracts.operations(provider)["operations"]:
        name = contracts.response_schema(provider, operation, body)
        assert name is None or name in contracts.names(provider)
        with contextlib.suppress(contracts.ContractViolation):
            assert contracts.check_response(provider, operation, body) == name


def test_a_new_provider_adds_data_not_code(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """PICPIK's envelope (RetCode 0 is success) is told apart by rules alone."""
    folder = tmp_path / "picpik"
    folder.mkdir()
    (folder / "operations.json").write_text(json.dumps({
        "answers": [
            {"when": {"equals": {"RetCode": 0}}, "schema": "{operation}.response"},
            {"when": {"present": ["RetCode"]}, "schema": "error.response"},
        ],
        "operations": {"RemoveBackground": {"method": "POST", "path": "/"}},
    }))
    monkeypatch.setattr(contracts, "ROOT", tmp_path)
    contracts.operations.cache_clear()
    try:
        assert contracts.providers() == ["picpik"]
        ok = {"Action": "RemoveBackgroundResponse", "RetCode": 0, "TaskUID": "t"}
        refused = {"Action": "RemoveBackgroundResponse", "RetCode": 171, "Message": "x"}
        assert contracts.response_schema("picpik", "RemoveBackground", ok) == (
            "RemoveBackground.response")
        assert contracts.response_schema("picpik", "RemoveBackground", refused) == (
            "error.response")
        assert contracts.response_schema("picpik", "RemoveBackground", {"RetCode": False}) == (
            "error.response")  # false is not 0
    finally:
        contracts.operations.cache_clear()
