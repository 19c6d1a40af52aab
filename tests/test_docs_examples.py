"""Every docs example validates against its contract and works, verbatim, against a fresh mock
(decision T31: the docs' credentials and ids exist on a fresh mock)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from bgmock.server.testing import InProcessMock

from bgmock import contracts
from tests.docs_examples import DOCS, DocsExample, load

TOPVIEW_DOCS = ["000_c9e614f3311d5d02.txt", "001_366e2b3b0c003057.txt"]
EXAMPLES = [example for name in TOPVIEW_DOCS for example in load(name)]
SERVED = EXAMPLES
CASES = [pytest.param(e, id=e.id) for e in EXAMPLES]


def _request_params(example: DocsExample) -> Any:
    return example.body if example.method == "POST" else example.query


def _replay(mock: InProcessMock, example: DocsExample) -> httpx.Response:
    """The docs' curl with only scheme and host changed (the Host header is kept)."""
    with mock.client() as http:
        return http.request(example.method, f"/topview{example.path}", params=example.query,
                            headers=example.headers, json=example.body)


def test_the_docs_examples_are_found() -> None:
    assert len(EXAMPLES) == 14            # every curl with a response in both pages
    # remove background (4), product background (4), replace product image (4), image2Video (2)
    assert all(e.operation("topview") for e in SERVED)       # every one is served


@pytest.mark.parametrize("example", CASES)
def test_docs_example_validates_against_its_contract(example: DocsExample) -> None:
    operation = example.operation("topview")
    assert operation is not None, f"{example.path} is not served"
    contracts.validate("topview", f"{operation}.request", _request_params(example))
    contracts.validate("topview", f"{operation}.response", example.response)


@pytest.mark.parametrize("example", CASES)
def test_docs_example_works_against_a_fresh_mock(example: DocsExample) -> None:
    operation = example.operation("topview")
    assert operation is not None, f"{example.path} is not served"
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
    if operation == "product_background_query":  # the docs' finished task: one composite
        assert answered["taskId"] == documented["taskId"]
        assert answered["status"] == documented["status"] == "success"
        assert len(answered["anyfitImages"]) == len(documented["anyfitImages"]) == 1
        assert "X-Amz-Signature=" in answered["anyfitImages"][0]["url"]  # bare flag: S3 form
    if operation.endswith("_submit"):
        assert answered["status"] == "success" and answered["errorMsg"] is None


def test_the_docs_flow_runs_in_sequence_on_one_mock() -> None:
    """Submit as in step 1, query the docs' task as in step 2, download the documented files."""
    mock = InProcessMock()
    try:
        for example in SERVED:
            body = _replay(mock, example).json()
            assert body["code"] == "200"
            urls = [body["result"][key] for key in ("bgRemovedImagePath", "maskImagePath")
                    if key in body["result"]]
            urls += [image["url"] for image in body["result"].get("anyfitImages", [])]
            for url in urls:
                with mock.client() as http:
                    image = http.get(url)
                assert image.status_code == 200
                assert image.content.startswith(b"\x89PNG")
    finally:
        mock.close()


# --- Aidge: provider-docs/002 (IopClient sample in Java, sample response) --------------------

AIDGE_DOC = (DOCS / "002_cc7fe5bcb66f117b.txt").read_text(encoding="utf-8")
AIDGE_PARAMS = dict(re.findall(r'request\.addApiParameter\("(\w+)", "([^"]*)"\);', AIDGE_DOC))
AIDGE_RESPONSE = json.JSONDecoder().raw_decode(
    AIDGE_DOC[AIDGE_DOC.index("{", AIDGE_DOC.index("Sample Response\n")):])[0]


def test_aidge_docs_example_validates_against_its_contracts() -> None:
    assert AIDGE_PARAMS == {"backGroundType": "WHITE_BACKGROUND", "imageBase64": "",
                            "targetHeight": "1000", "targetWidth": "800",
                            "imageUrl": "https://ae01.alicdn.com/kf/"
                                        "Sa78257f1d9a34dad8ee494178db12ec8l.jpg"}
    contracts.validate("aidge", "cut_out.request", AIDGE_PARAMS)
    contracts.validate("aidge", "cut_out.response", AIDGE_RESPONSE)


@pytest.mark.parametrize("style", ["iop-form", "v2-json"])
def test_aidge_docs_example_works_against_a_fresh_mock(style: str) -> None:
    from tests.aidge_calls import CUT_OUT, iop_query, v2_query

    mock = InProcessMock()
    try:
        ts = int(mock.engine.clock.now() * 1000)
        with mock.client() as http:
            if style == "iop-form":
                response = http.post(CUT_OUT, data=AIDGE_PARAMS,
                                     params=iop_query(ts, "/ai/image/cut/out", AIDGE_PARAMS))
            else:
                response = http.post(CUT_OUT, params=v2_query(ts), json=AIDGE_PARAMS)
            body = response.json()
            contracts.validate("aidge", "cut_out.response", body)
            assert set(AIDGE_RESPONSE) == set(body)                 # the documented shape
            assert set(AIDGE_RESPONSE["data"]) == set(body["data"])
            assert (body["data"]["width"], body["data"]["height"]) == (800, 1000)
            image = http.get(body["data"]["imageUrl"])
            assert image.status_code == 200 and image.content.startswith(b"\xff\xd8")  # JPEG
    finally:
        mock.close()


# --- PICPIK: the docs' examples, carried by its contracts and on its docs page -------------------

PICPIK_PAGE = "003_1537b32ed39f059b.txt"
PICPIK_REQUESTS = [(name.removesuffix(".request"), example)
                   for name, example in contracts.examples("picpik") if name.endswith(".request")]


def test_the_picpik_docs_response_example_validates_as_printed() -> None:
    """The docs page's response example, read from the page (K5, K9): the envelope and a
    TaskUID."""
    text = (DOCS / PICPIK_PAGE).read_text(encoding="utf-8")
    block = text.split("Response Example", 1)[1]
    pairs = re.findall(r'^\s*("[A-Za-z_]+": .+?),?\s*$', block, re.M)
    example = json.loads("{" + ", ".join(pairs) + "}")
    assert example["TaskUID"] == "cktlm6lrh4xxx8ng9nf0"
    contracts.validate("picpik", "remove_background.response", example)
    assert contracts.check_response("picpik", "remove_background", example) == (
        "remove_background.response")


@pytest.mark.parametrize(("operation", "example"), PICPIK_REQUESTS,
                         ids=[name for name, _ in PICPIK_REQUESTS])
def test_picpik_docs_requests_work_verbatim_against_a_fresh_mock(operation: str,
                                                                 example: Any) -> None:
    """K16: the docs' key needs no signature check, its ids exist, its placeholder images
    stand for the demo photo (D183, D186)."""
    mock = InProcessMock()
    try:
        with mock.client() as http:
            response = http.post("/picpik/", json=example)
    finally:
        mock.close()
    assert response.status_code == 200
    body = response.json()
    assert contracts.check_response("picpik", operation, body) == f"{operation}.response"
    assert body["RetCode"] == 0 and body["Action"] == example["Action"]
    assert body["request_uuid"] == example["request_uuid"]
