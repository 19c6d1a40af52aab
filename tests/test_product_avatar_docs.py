"""provider-docs/001's product-avatar steps on a fresh (and a reset) mock (T31), and the avatar
lookups (T27, D136)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from bgmock.server.providers.topview import avatar_fixtures, avatars
from bgmock.server.testing import InProcessMock
from PIL import Image

from bgmock import contracts
from tests.docs_examples import DocsExample, load
from tests.test_product_avatar import probe_mp4
from tests.topview_calls import DEMO

MINE = ("replace_product_image_submit", "replace_product_image_query", "image_to_video_submit",
        "image_to_video_query")
EXAMPLES = [e for e in load("001_366e2b3b0c003057.txt") if e.operation("topview") in MINE]


@pytest.fixture(scope="module")
def docs_mock() -> Iterator[InProcessMock]:
    mock = InProcessMock()
    yield mock
    mock.close()


def _replay(mock: InProcessMock, example: DocsExample) -> dict[str, Any]:
    with mock.client() as http:
        response = http.request(example.method, f"/topview{example.path}", params=example.query,
                                headers=example.headers, json=example.body)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    contracts.validate("topview", f"{example.operation('topview')}.response", body)
    return body


def test_the_docs_product_avatar_curls_are_all_here() -> None:
    assert sorted(e.operation("topview") for e in EXAMPLES) == sorted(
        [*MINE, "replace_product_image_submit", "replace_product_image_query"])


@pytest.mark.parametrize("reset", [False, True], ids=["fresh", "reset"])
def test_every_docs_curl_answers_as_documented(docs_mock: InProcessMock, reset: bool) -> None:
    if reset:
        docs_mock.reset()
    for example in EXAMPLES:
        body = _replay(docs_mock, example)
        assert body["code"] == "200", (example.id, body)
        documented, answered = example.response["result"], body["result"]
        assert set(documented) <= set(answered), example.id
        if example.operation("topview") == "replace_product_image_query":
            ids = [(r["imageId"], r["faceExistence"]) for r in documented["replaceProductResult"]]
            assert [(r["imageId"], r["faceExistence"])
                    for r in answered["replaceProductResult"]] == ids
        if example.operation("topview") == "image_to_video_query":
            assert answered["aiAvatar"]["aiavatarId"] == documented["aiAvatar"]["aiavatarId"]
            assert answered["aiAvatar"]["aiavatarName"] == documented["aiAvatar"]["aiavatarName"]
            assert answered["finishedVideoUrl"].split("?")[0].endswith(
                "/analyzed_video/task/export/c708644f5ece452d8a539fe5da910af9_topview.ai.mp4")


def test_the_docs_results_are_real_files(docs_mock: InProcessMock) -> None:
    with docs_mock.client() as http:
        replaced = http.get("/topview/v2/product_avatar/task/image_replace/query", headers=DEMO,
                            params={"taskId": "3179dd887d294ab797fa85eea49fb25f"}).json()
        for result in replaced["result"]["replaceProductResult"]:
            image = Image.open(io.BytesIO(http.get(result["url"]).content))
            assert image.format == "PNG"
        video = http.get("/topview/v2/product_avatar/task/image2Video/query", headers=DEMO,
                         params={"taskId": "8aa992b4cfd24082a564710cbee2132c"}).json()["result"]
        codec, width, height, frames = probe_mp4(http.get(video["finishedVideoUrl"]).content)
        assert codec == "h264" and min(width, height) == 720 and frames > 1     # mode pro
        cover = Image.open(io.BytesIO(http.get(video["aiAvatar"]["coverUrl"]).content))
        assert cover.format == "JPEG"
        assert probe_mp4(http.get(video["aiAvatar"]["previewVideoUrl"]).content)[0] == "h264"


def test_every_docs_image_id_feeds_image2video(docs_mock: InProcessMock) -> None:
    ids = [(i.image_id, i.face_existence)
           for images in avatar_fixtures.DOCS_REPLACE.values() for i in images]
    ids.append(("7e66ece3b4384e929fff91da2918e2d6", True))
    with docs_mock.client() as http:
        for image_id, face in ids:
            body = http.post("/topview/v2/product_avatar/task/image2Video/submit", headers=DEMO,
                             json={"replaceProductTaskImageId": image_id,
                                   "mode": "pro" if face else "avatar2", "ttsText": "hi",
                                   "voiceId": avatars.DOCS_VOICE}).json()
            assert body["code"] == "200", (image_id, body)


# --- lookups ---------------------------------------------------------------------------------

def _avatars(mock: InProcessMock, **params: str) -> dict[str, Any]:
    with mock.client() as http:
        body = http.get("/topview/v1/product_avatar/public_avatar/query", headers=DEMO,
                        params=params).json()
    if body["code"] == "200":
        contracts.validate("topview", "public_avatar_query.response", body)
    return body


def test_avatar_paging_and_filters(docs_mock: InProcessMock) -> None:
    first = _avatars(docs_mock)["result"]
    assert (first["total"], first["pageNo"], first["pageSize"]) == (avatars.AVATAR_COUNT, 1, 20)
    pages = [_avatars(docs_mock, pageNo=str(n), pageSize="10")["result"]["data"]
             for n in (1, 2, 3, 4)]
    seen = [a["avatarId"] for page in pages for a in page]
    assert len(seen) == len(set(seen)) == avatars.AVATAR_COUNT and pages[3] == []
    female = _avatars(docs_mock, gender="female", pageSize="100")["result"]
    assert female["total"] == 12 and {a["gender"] for a in female["data"]} == {"female"}
    beauty = _avatars(docs_mock, categoryIds="1,5", pageSize="100")["result"]["data"]
    assert beauty and all({c["categoryId"] for c in a["avatarCategoryList"]} & {"1", "5"}
                          for a in beauty)
    ethnic = _avatars(docs_mock, ethnicityIds="3", pageSize="100")["result"]["data"]
    assert all(a["avatarEthnicityList"][0]["ethnicityId"] == "3" for a in ethnic)
    newest = _avatars(docs_mock, sortingType="Newest", pageSize="100")["result"]["data"]
    assert newest[0]["avatarId"] == avatars.AVATARS[-1].avatar_id
    assert _avatars(docs_mock)["result"] == first                              # deterministic


@pytest.mark.parametrize(("params", "code"), [
    ({"pageSize": "0"}, "4001"), ({"pageSize": "101"}, "4001"), ({"pageNo": "0"}, "4001"),
    ({"pageNo": "x"}, "4001"), ({"gender": "other"}, "4000"), ({"sortingType": "Oldest"}, "4000"),
])
def test_avatar_query_refusals(docs_mock: InProcessMock, params: dict[str, str],
                               code: str) -> None:
    assert _avatars(docs_mock, **params)["code"] == code


def test_every_avatar_has_a_real_image_and_a_known_voice(docs_mock: InProcessMock) -> None:
    data = _avatars(docs_mock, pageSize="100")["result"]["data"]
    assert avatars.DOCS_VOICE in {a["voiceoverId"] for a in data}
    with docs_mock.client() as http:
        image = Image.open(io.BytesIO(http.get(data[0]["avatarImagePath"]).content))
        assert image.format == "PNG" and image.size == (avatars.WIDTH, avatars.HEIGHT)
        categories = http.get("/topview/v1/product_avatar/category/list", headers=DEMO).json()
    contracts.validate("topview", "avatar_category_list.response", categories)
    ids = {c["categoryId"] for c in categories["result"]}
    assert {c["categoryId"] for a in data for c in a["avatarCategoryList"]} <= ids
