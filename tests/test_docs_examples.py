"""Every docs example validates against its contract and works, verbatim, against a fresh mock
(decision T31: the docs' credentials and ids exist on a fresh mock)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import contracts
from mock_server.testing import InProcessMock
from tests.docs_examples import DocsExample, load

TOPVIEW_DOCS = ["000_c9e614f3311d5d02.txt", "001_366e2b3b0c003057.txt"]
EXAMPLES = [example for name in TOPVIEW_DOCS for example in load(name)]
SERVED = [e for e in EXAMPLES if e.operation("topview")]


def _request_params(example: DocsExample) -> Any:
    return example.body if example.method == "POST" else example.query


def _replay(mock: InProcessMock, example: DocsExample) -> httpx.Response:
    """The docs' curl with only scheme and host changed (the Host header is kept)."""
    with mock.client() as http:
        return http.request(example.method, f"/topview{example.path}", params=example.query,
                            headers=example.headers, json=example.body)


def test_the_docs_examples_are_found() -> None:
    assert len(EXAMPLES) == 14            # every curl with a response in both pages
    assert len(SERVED) == 4               # the remove-background submit/query pairs


@pytest.mark.parametrize("example", SERVED, ids=lambda e: e.id)
def test_docs_example_validates_against_its_contract(example: DocsExample) -> None:
    operation = example.operation("topview")
    contracts.validate("topview", f"{operation}.request", _request_params(example))
    contracts.validate("topview", f"{operation}.response", example.response)


@pytest.mark.parametrize("example", SERVED, ids=lambda e: e.id)
def test_docs_example_works_against_a_fresh_mock(example: DocsExample) -> None:
    operation = example.operation("topview")
    mock = InProcessMock()
    try:
        response = _replay(mock, example)
    finally:
        mock.close()
    assert response.status_code == 200
    body = response.json()
    contracts.validate("topview", f"{operation}.response", body)
    assert body["code"] == example.response["code"] == "200"
    documented, answered = example.response["result"], body["result"]
    assert set(documented) <= set(answered), "the documented keys are all there"
    if operation == "remove_background_query":  # the docs' finished task, as documented
        for key, value in documented.items():
            if not key.endswith("Path"):
                assert answered[key] == value, key
        cloudfront = example.query.get("needCloudFrontUrl") == "true"
        assert ("Key-Pair-Id=" in answered["bgRemovedImagePath"]) is cloudfront
        assert ("X-Amz-Signature=" in answered["maskImagePath"]) is not cloudfront


def test_the_docs_flow_runs_in_sequence_on_one_mock() -> None:
    """Submit as in step 1, query the docs' task as in step 2, download the documented files."""
    mock = InProcessMock()
    try:
        for example in SERVED:
            body = _replay(mock, example).json()
            assert body["code"] == "200"
            for key in ("bgRemovedImagePath", "maskImagePath"):
                if key in body["result"]:
                    with mock.client() as http:
                        image = http.get(body["result"][key])
                    assert image.status_code == 200
                    assert image.content.startswith(b"\x89PNG")
    finally:
        mock.close()
