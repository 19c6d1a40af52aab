"""Hypothesis throws malformed input at every Topview endpoint: the answer is always a Topview
envelope that matches a contract, never a 500 or a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgmock import contracts
from tests.topview_calls import DEMO

OPERATIONS = contracts.operations("topview")["operations"]
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40)
    | st.floats(allow_nan=False, allow_infinity=False),  # httpx refuses to send NaN/inf
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner,
                                                                max_size=4),
    max_leaves=12)
FIELDS = st.sampled_from(["productImageFileId", "noticeUrl", "taskId", "fileId", "format",
                          "needCloudFrontUrl", "needAccelerateUrl"])
KNOWN_IDS = st.sampled_from(["5a85c359bff14c95889e4652f1ec467e",
                             "56eac11a862143989e9cc63f8b213a2d", "", "x" * 300, "\u0000", "%00"])


@pytest.fixture(scope="module")
def fuzz_mock() -> Iterator[InProcessMock]:
    mock = InProcessMock(Settings(clock="virtual", instant=True))
    yield mock
    mock.close()


def _assert_topview(operation: str, response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    if body["code"] == "200":
        contracts.validate("topview", f"{operation}.response", body)
    else:
        contracts.validate("topview", "error.response", body)


@pytest.mark.parametrize("operation", [n for n, op in OPERATIONS.items() if op["in"] == "body"])
@given(body=st.dictionaries(FIELDS, JSON | KNOWN_IDS, max_size=4) | JSON)
@FUZZ
def test_json_bodies(fuzz_mock: InProcessMock, operation: str, body: Any) -> None:
    op = OPERATIONS[operation]
    with fuzz_mock.client() as http:
        _assert_topview(operation, http.request(op["method"], f"/topview{op['path']}",
                                                json=body, headers=DEMO))


@pytest.mark.parametrize("operation", [n for n, op in OPERATIONS.items() if op["in"] == "body"])
@given(raw=st.binary(max_size=200),
       content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]))
@FUZZ
def test_raw_bodies(fuzz_mock: InProcessMock, operation: str, raw: bytes,
                    content_type: str) -> None:
    op = OPERATIONS[operation]
    with fuzz_mock.client() as http:
        _assert_topview(operation, http.request(
            op["method"], f"/topview{op['path']}", content=raw,
            headers={**DEMO, "Content-Type": content_type}))


@pytest.mark.parametrize("operation", list(OPERATIONS))
@given(params=st.dictionaries(FIELDS | st.text(max_size=10), st.text(max_size=40) | KNOWN_IDS,
                              max_size=4))
@FUZZ
def test_query_parameters(fuzz_mock: InProcessMock, operation: str,
                          params: dict[str, str]) -> None:
    op = OPERATIONS[operation]
    with fuzz_mock.client() as http:
        _assert_topview(operation, http.request(op["method"], f"/topview{op['path']}",
                                                params=params, headers=DEMO))


# Any value HTTP allows in a header field: visible ASCII, space, tab and obs-text bytes.
HEADER_VALUE = st.text(alphabet=st.sampled_from(
    [chr(c) for c in (9, *range(0x20, 0x7F), *range(0x80, 0x100))]), max_size=60
).map(lambda v: v.encode("latin-1"))


@given(uid=HEADER_VALUE, auth=HEADER_VALUE)
@FUZZ
def test_credentials(fuzz_mock: InProcessMock, uid: bytes, auth: bytes) -> None:
    with fuzz_mock.client() as http:
        response = http.get("/topview/user/credit/detail",
                            headers={"Topview-Uid": uid, "Authorization": auth})
    _assert_topview("credit_detail", response)


@given(fault=HEADER_VALUE)
@FUZZ
def test_fault_header_is_a_control_error_or_applies(fuzz_mock: InProcessMock,
                                                    fault: bytes) -> None:
    headers = {**DEMO, "X-Mock-Fault": fault.replace(b"delay", b"d")}
    with fuzz_mock.client() as http:
        response = http.get("/topview/user/credit/detail", headers=headers)
    if response.status_code == 400:
        assert "bgmockError" in response.json()
    else:
        _assert_topview("credit_detail", response)
