"""Runware's docs, verbatim: every field of provider-docs/004 is in the contracts, the contracts'
examples (the docs' requests, ids completed, D190) replay in sequence against a fresh mock, the
docs' error object comes back as printed, and the README's curl works."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bgmock.server.testing import InProcessMock

from bgmock import contracts
from tests.docs_examples import DOCS
from tests.runware_calls import DEMO_KEY, check

PAGE = DOCS / "004_3f5e0b490f8a371f.txt"
README = Path(__file__).resolve().parent.parent / "README.md"
# The docs' order: upload, then the removals, then the poll of the first current removal.
SEQUENCE = ("image_upload", "image_background_removal", "remove_background", "get_response")


def test_every_field_the_docs_page_names_is_in_the_legacy_contract() -> None:
    text = PAGE.read_text(encoding="utf-8")
    request = contracts.load("runware", "image_background_removal.request")["properties"]
    for field in ("taskType", "taskUUID", "inputImage", "outputType", "outputFormat",
                  "includeCost", "rgba", "postProcessMask", "returnOnlyMask", "alphaMatting",
                  "alphaMattingForegroundThreshold", "alphaMattingBackgroundThreshold",
                  "alphaMattingErodeSize"):
        assert field in text and field in request, field
    result = contracts.load("runware", "common")["$defs"]["removal"]["properties"]
    for field in ("taskUUID", "imageUUID", "imageURL", "imageBase64Data", "imageDataURI",
                  "cost"):
        assert field in text and field in result, field
    assert "imageBackgroundRemoval" in text
    for value in ("dataURI", "URL", "base64Data"):
        assert value in contracts.load("runware", "common")["$defs"]["outputType"]["enum"]


def test_the_docs_requests_work_in_sequence_on_a_fresh_mock() -> None:
    mock = InProcessMock()
    try:
        with mock.client(headers={"Authorization": f"Bearer {DEMO_KEY}"}) as http:
            for operation in SEQUENCE:
                for example in contracts.load("runware", f"{operation}.request")["examples"]:
                    response = http.post("/runware/v1", json=[example])
                    assert response.status_code == 200, (operation, response.text)
                    body = check(response.json())
                    [item] = body["data"]
                    assert item["taskUUID"] == example["taskUUID"]
                    contracts.check_response("runware", operation, body)
            for example in contracts.load("runware", "authentication.request")["examples"]:
                response = http.post("/runware/v1", json=[example])
                assert response.json() == {"data": []}  # REST: no item for it (R23)
    finally:
        mock.close()


def test_the_docs_invalid_api_key_error_comes_back_as_printed() -> None:
    printed = contracts.load("runware", "error.response")["examples"][0]["errors"][0]
    mock = InProcessMock()
    try:
        with mock.client() as http:
            response = http.post("/runware/v1",
                                 json=[{"taskType": "authentication", "apiKey": "wrong"}])
    finally:
        mock.close()
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert {k: v for k, v in error.items() if k != "documentation"} == printed


def test_the_readme_curl_works() -> None:
    section = README.read_text(encoding="utf-8").split("## Runware", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the Runware section lost its curl"
    body = json.loads(re.search(r"-d '(.*?)'", block.group(1), re.S).group(1))
    mock = InProcessMock()
    try:
        with mock.client(headers={"Authorization": f"Bearer {DEMO_KEY}"}) as http:
            response = http.post("/runware/v1", json=body)
            assert response.status_code == 200
            [item] = check(response.json())["data"]
            assert http.get(item["imageURL"].removeprefix(str(http.base_url).rstrip("/"))
                            ).status_code == 200
    finally:
        mock.close()


def test_the_socket_frames_are_documented_in_asyncapi(runware: Any) -> None:
    response = runware.get("/runware/asyncapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["asyncapi"] == "3.0.0"
    channel = document["channels"]["socket"]
    assert channel["address"] == "/v1"
    items = channel["messages"]["tasks"]["payload"]["items"]["oneOf"]
    assert {i["$ref"].rsplit("/", 1)[1] for i in items} == {
        f"{name}.request" for name in contracts.operations("runware")["operations"]}
    assert {"real1", "bgmock"} <= set(document["servers"])
    schemas = document["components"]["schemas"]
    text = json.dumps(document)
    for ref in re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text):
        assert ref in schemas, ref
    for ref in re.findall(r'"\$ref": "#/(channels/[^"]+)"', text):
        node: Any = document
        for part in ref.split("/"):
            node = node[part]
    payload = {"$ref": "#/p", "p": channel["messages"]["tasks"]["payload"],
               "components": document["components"]}
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(payload)
    for operation in contracts.operations("runware")["operations"]:
        for example in contracts.load("runware", f"{operation}.request")["examples"]:
            assert validator.is_valid([example]), operation
    assert runware.get("/topview/asyncapi.json").status_code == 404  # no socket, no document
