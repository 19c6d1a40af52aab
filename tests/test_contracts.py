"""The contracts: valid 2020-12 schemas, complete for every operation, examples valid, OpenAPI."""

from __future__ import annotations

import json
import sys

import pytest
from jsonschema import Draft202012Validator

from bgmock import contracts

PROVIDERS = contracts.providers()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_schema_is_valid_2020_12_and_cites_its_source(provider: str) -> None:
    for name in contracts.names(provider):
        schema = contracts.load(provider, name)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(f"/{provider}/{name}.json")
        assert "Source" in schema["description"] or "x-source" in schema, name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_operation_has_request_and_response_contracts(provider: str) -> None:
    for operation in contracts.operations(provider)["operations"]:
        for kind in ("request", "response"):
            schema = contracts.load(provider, f"{operation}.{kind}")
            assert schema.get("examples"), f"{operation}.{kind} carries examples"


@pytest.mark.parametrize(("provider", "name", "example"),
                         [(p, n, e) for p in PROVIDERS for n, e in contracts.examples(p)])
def test_schema_examples_validate(provider: str, name: str, example: object) -> None:
    contracts.validate(provider, name, example)


def test_violations_are_reported_with_their_path() -> None:
    with pytest.raises(contracts.ContractViolation, match="productImageFileId"):
        contracts.validate("topview", "remove_background_submit.request",
                           {"productImageFileId": 5})
    assert contracts.errors("topview", "upload_credential.request", {"format": "png"}) == []


def test_unknown_contract_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        contracts.load("topview", "nothing.request")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_openapi_is_built_from_the_contracts(provider: str) -> None:
    document = contracts.openapi(provider)
    assert document["openapi"] == "3.1.0"
    index = contracts.operations(provider)["operations"]
    for name, op in index.items():
        for method in op.get("methods", [op.get("method")]):
            if method == contracts.WEBSOCKET:  # OpenAPI has no WebSocket operations
                continue
            operation_id = document["paths"][op["path"]][method.lower()]["operationId"]
            if "select" in op:  # operations sharing one route: one OpenAPI operation names all
                assert name in operation_id, (name, operation_id)
                continue
            assert operation_id.startswith(name)
    text = json.dumps(document)
    for ref in _refs(document):           # every $ref resolves inside the document
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in document["components"]["schemas"]
    assert "$defs" not in text and "contracts.bgmock.local" not in text
    for name, example in contracts.examples(provider):   # bundling kept the meaning
        if name != "common":
            assert _bundled_validator(document, name).is_valid(example), name
    for error in contracts.operations(provider).get("errors", ["error.response"]):
        assert not _bundled_validator(document, error).is_valid({"code": "4000"})


def _bundled_validator(document: dict, name: str) -> Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return Draft202012Validator(root)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_query_operations_become_openapi_parameters() -> None:
    query = contracts.openapi("topview")["paths"]["/v1/common_task/remove_background/query"]
    parameters = {p["name"]: p for p in query["get"]["parameters"]}
    assert parameters["taskId"]["required"] is True
    assert parameters["needCloudFrontUrl"]["required"] is False
    assert query["get"]["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]


def test_openapi_returns_a_copy() -> None:
    contracts.openapi("topview")["paths"].clear()
    assert contracts.openapi("topview")["paths"]


def test_large_inputs_are_validated_without_being_kept() -> None:
    # nothing validated is memoized (D163 replaced the memo of small inputs): no reference stays
    small = {"backGroundType": "TRANSPARENT", "imageUrl": "https://x/y.jpg"}
    data = "A" * 100_000
    large = {"backGroundType": "TRANSPARENT", "imageBase64": data}
    before = sys.getrefcount(data)
    assert contracts.errors("aidge", "cut_out.request", small) == []
    assert contracts.errors("aidge", "cut_out.request", large) == []
    assert sys.getrefcount(data) == before
    bad = {**large, "backGroundType": "BLUE"}
    assert contracts.errors("aidge", "cut_out.request", bad)[0].validator == "enum"
