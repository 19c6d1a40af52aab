"""Hypothesis throws malformed parameters, bodies and signatures at the Aidge gateway: the answer
is always one of Aidge's three shapes (success, business failure, gateway error) matching its
contract, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.aidge_calls import CUT_OUT, DOCS_URL, checked, iop_query, v2_query

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
UNLIMITED = {"aidge": [{"app_key": "fuzz", "secret": "fuzz-secret", "qps": 10**9,
                        "burst": 10**9, "quota": 10**9}]}
VALUES = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=30) \
    | st.sampled_from(["WHITE_BACKGROUND", "TRANSPARENT", DOCS_URL, "", "800", "99", "3000",
                       "aGVsbG8=", "data:image/png;base64,AAAA"]) \
    | st.floats(allow_nan=False, allow_infinity=False)
FIELDS = st.sampled_from(["imageUrl", "imageBase64", "backGroundType", "targetWidth",
                          "targetHeight", "app_key", "sign"]) | st.text(max_size=8)


@pytest.fixture(scope="module")
def fuzz_mock() -> Iterator[InProcessMock]:
    mock = InProcessMock(Settings(clock="virtual", accounts=UNLIMITED))
    yield mock
    mock.close()


def _ts(mock: InProcessMock) -> int:
    return int(mock.engine.clock.now() * 1000)


@given(body=st.dictionaries(FIELDS, VALUES, max_size=5) | VALUES | st.lists(VALUES, max_size=3))
@FUZZ
def test_json_bodies(fuzz_mock: InProcessMock, body: Any) -> None:
    with fuzz_mock.client() as http:
        checked(http.post(CUT_OUT, json=body,
                          params=v2_query(_ts(fuzz_mock), "fuzz", "fuzz-secret")))


@given(form=st.dictionaries(FIELDS, st.text(max_size=30) | st.sampled_from(
    ["WHITE_BACKGROUND", "TRANSPARENT", DOCS_URL, "150"]), max_size=5))
@FUZZ
def test_signed_form_posts(fuzz_mock: InProcessMock, form: dict[str, str]) -> None:
    query = iop_query(_ts(fuzz_mock), "/ai/image/cut/out", form, "fuzz", "fuzz-secret")
    with fuzz_mock.client() as http:
        checked(http.post(CUT_OUT, data=form, params=query))


@given(query=st.dictionaries(FIELDS | st.sampled_from(["timestamp", "sign_ver", "sign_method"]),
                             st.text(max_size=70), max_size=7),
       method=st.sampled_from(["GET", "POST"]))
@FUZZ
def test_arbitrary_system_parameters(fuzz_mock: InProcessMock, query: dict[str, str],
                                     method: str) -> None:
    with fuzz_mock.client() as http:
        checked(http.request(method, CUT_OUT, params=query))


@given(raw=st.binary(max_size=300),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                     "text/plain", ""]))
@FUZZ
def test_raw_bodies(fuzz_mock: InProcessMock, raw: bytes, content_type: str) -> None:
    with fuzz_mock.client() as http:
        checked(http.post(CUT_OUT, content=raw, headers={"Content-Type": content_type},
                          params=v2_query(_ts(fuzz_mock), "fuzz", "fuzz-secret")))


@given(path=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e,
                                           exclude_characters="?#%."), max_size=30))
@FUZZ
def test_any_path_under_rest(fuzz_mock: InProcessMock, path: str) -> None:
    with fuzz_mock.client() as http:
        response = http.post(f"/aidge/rest/{path}", json={},
                             params=v2_query(_ts(fuzz_mock), "fuzz", "fuzz-secret"))
    if path != "ai/image/cut/out":
        assert checked(response)["code"] in ("InvalidApiPath", "0")
