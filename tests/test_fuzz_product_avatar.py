"""Hypothesis at the product-avatar endpoints with near-valid input (the docs' ids, real field
names, odd locations, modes and scripts), so the checks past validation are reached: the answer
is always a Topview envelope matching a contract, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bgmock.server.providers.topview import avatars, image_to_video
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgmock import contracts
from tests.topview_calls import DEMO

FUZZ = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
ODD = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.just("")
IDS = st.sampled_from(["c62216b7e35e4e8598edc29a4041c7b6", "722e4c0ebdc148e295df9fe30c3160bd",
                       "7e66ece3b4384e929fff91da2918e2d6", "1ed9fef518104317baab5645243445eb",
                       "3179dd887d294ab797fa85eea49fb25f", "8aa992b4cfd24082a564710cbee2132c",
                       "0" * 32, "", "x" * 100]) | ODD
NUMBER = st.floats(min_value=-20, max_value=20, allow_nan=False) | st.integers(-20, 20)
POINT = st.lists(NUMBER, min_size=0, max_size=3) | ODD
LOCATION = st.lists(POINT, min_size=0, max_size=5) | ODD
REPLACE = st.fixed_dictionaries({}, optional={
    "generateImageMode": st.sampled_from(["manual", "auto", "Manual", ""]) | ODD,
    "templateImageFileId": IDS, "avatarId": IDS | st.sampled_from(
        [a.avatar_id for a in avatars.AVATARS[:2]]),
    "productImageWithoutBackgroundFileId": IDS, "userFaceImageFileId": IDS,
    "imageEditPrompt": st.text(max_size=30) | ODD, "location": LOCATION,
    "noticeUrl": st.sampled_from(["", "http://localhost:9/x", "ftp://x"]) | ODD})
VIDEO = st.fixed_dictionaries({}, optional={
    "replaceProductTaskImageId": IDS,
    "mode": st.sampled_from(["lite", "pro", "avatar2", "avatar4", "avatar4Fast", "x"]) | ODD,
    "scriptMode": st.sampled_from(["text", "audio", ""]) | ODD,
    "ttsText": st.text(max_size=20) | ODD, "voiceId": st.sampled_from(
        ["zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t", "nobody"]) | ODD,
    "audioFileId": IDS, "captionId": IDS})
AVATAR_PARAMS = st.dictionaries(
    st.sampled_from(["gender", "categoryIds", "ethnicityIds", "sortingType", "pageNo",
                     "pageSize", "other"]),
    st.sampled_from(["", "1", "0", "100", "101", "99999999999", "-1", "male", "Newest",
                     "1,2,x", ",,,"]) | st.text(max_size=12), max_size=5)
QUERY_PARAMS = st.fixed_dictionaries({}, optional={
    "taskId": IDS.map(str), "needCloudFrontUrl": st.sampled_from(["", "true", "1", "maybe"])})


@pytest.fixture(scope="module")
def fuzz_mock() -> Iterator[InProcessMock]:
    frames = image_to_video.FRAMES
    image_to_video.FRAMES = 2  # many accepted videos: keep each cheap
    mock = InProcessMock(Settings(clock="virtual", instant=True))
    mock.set_account("topview", DEMO["Topview-Uid"], credits=1e9, concurrency=10_000)
    yield mock
    mock.close()
    image_to_video.FRAMES = frames


def _assert_topview(operation: str, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if body["code"] == "200":
        contracts.validate("topview", f"{operation}.response", body)
    else:
        contracts.validate("topview", "error.response", body)
        assert not body["code"].startswith("5"), body
    return body


def _post(mock: InProcessMock, path: str, operation: str, body: Any) -> dict[str, Any]:
    with mock.client() as http:
        return _assert_topview(operation, http.post(f"/topview{path}", json=body, headers=DEMO))


@given(body=REPLACE)
@FUZZ
def test_replace_submit(fuzz_mock: InProcessMock, body: dict[str, Any]) -> None:
    answer = _post(fuzz_mock, "/v2/product_avatar/task/image_replace/submit",
                   "replace_product_image_submit", body)
    if answer["code"] == "200":
        with fuzz_mock.client() as http:
            _assert_topview("replace_product_image_query", http.get(
                "/topview/v2/product_avatar/task/image_replace/query", headers=DEMO,
                params={"taskId": answer["result"]["taskId"]}))


@given(body=VIDEO)
@FUZZ
def test_image_to_video_submit(fuzz_mock: InProcessMock, body: dict[str, Any]) -> None:
    answer = _post(fuzz_mock, "/v2/product_avatar/task/image2Video/submit",
                   "image_to_video_submit", body)
    if answer["code"] == "200":
        with fuzz_mock.client() as http:
            _assert_topview("image_to_video_query", http.get(
                "/topview/v2/product_avatar/task/image2Video/query", headers=DEMO,
                params={"taskId": answer["result"]["taskId"]}))


@pytest.mark.parametrize("operation", ["replace_product_image_query", "image_to_video_query"])
@given(params=QUERY_PARAMS)
@FUZZ
def test_queries(fuzz_mock: InProcessMock, operation: str, params: dict[str, str]) -> None:
    path = contracts.operations("topview")["operations"][operation]["path"]
    with fuzz_mock.client() as http:
        _assert_topview(operation, http.get(f"/topview{path}", params=params, headers=DEMO))


@given(params=AVATAR_PARAMS)
@FUZZ
def test_avatar_lookups(fuzz_mock: InProcessMock, params: dict[str, str]) -> None:
    with fuzz_mock.client() as http:
        _assert_topview("public_avatar_query", http.get(
            "/topview/v1/product_avatar/public_avatar/query", params=params, headers=DEMO))
        _assert_topview("avatar_category_list", http.get(
            "/topview/v1/product_avatar/category/list", params=params, headers=DEMO))
