"""Topview lookup lists (sheet endpoints 12-13): voices and caption styles, deterministic
fixtures with every id the docs use (T27, D126), real files behind their URLs."""

from __future__ import annotations

import io
import wave

import pytest
from PIL import Image

from tests.topview_calls import TopviewApi

DOCS_VOICE = "zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t"
DOCS_CAPTION = "3cfcb29df99746d4b438e169dda47647"


def voices(api: TopviewApi, **params: str) -> dict:
    answer = api.call("voice_query", params=params)
    assert answer["code"] == "200", answer
    return answer["result"]


def test_the_docs_voice_is_first_and_its_clip_is_a_real_wav(api: TopviewApi) -> None:
    page = voices(api)
    assert page["total"] == 67 and page["pageNo"] == 1 and len(page["data"]) == 20
    first = page["data"][0]
    assert first["voiceId"] == DOCS_VOICE and first["language"] == "en"
    clip = api.http.get(first["demoAudioUrl"])
    assert clip.status_code == 200
    with wave.open(io.BytesIO(clip.content)) as audio:
        assert audio.getnframes() / audio.getframerate() == first["durations"] == 1.0


def test_filters_match_exactly_and_names_as_substrings(api: TopviewApi) -> None:
    female_en = voices(api, language="EN", gender="female")
    assert female_en["total"] == 2
    assert {v["gender"] for v in female_en["data"]} == {"female"}
    assert all(v["style"] == "UGC" for v in voices(api, style="UGC", pageSize="100")["data"])
    assert voices(api, voiceName="ava")["data"][0]["voiceId"] == DOCS_VOICE
    assert voices(api, language="xx")["total"] == 0
    assert voices(api, isCustom="true") == {"total": 0, "pageNo": 1, "data": []}
    assert voices(api, gender="", language="")["total"] == 67   # empty filters filter nothing


def test_paging_walks_the_whole_list_once(api: TopviewApi) -> None:
    seen = []
    for page_no in range(1, 5):
        page = voices(api, pageNo=str(page_no), pageSize="20")
        assert page["pageNo"] == page_no
        seen += [v["voiceId"] for v in page["data"]]
    assert len(seen) == len(set(seen)) == 67
    assert voices(api, pageNo="99")["data"] == []


@pytest.mark.parametrize(("params", "code"), [
    ({"pageSize": "0"}, "4001"), ({"pageSize": "101"}, "4001"), ({"pageNo": "0"}, "4001"),
    ({"pageNo": "-1"}, "4001"), ({"pageNo": "9" * 7}, "4001"), ({"gender": "other"}, "4000"),
    ({"isCustom": "maybe"}, "4000")])
def test_bad_paging_and_filters_get_topviews_codes(api: TopviewApi, params: dict[str, str],
                                                    code: str) -> None:
    assert api.call("voice_query", params=params)["code"] == code


def test_captions_include_the_docs_id_with_real_thumbnails(api: TopviewApi) -> None:
    answer = api.call("caption_list")
    assert answer["code"] == "200"
    captions = answer["result"]
    assert captions[0]["captionId"] == DOCS_CAPTION and len(captions) == 8
    assert len({c["captionId"] for c in captions}) == 8
    thumbnail = api.http.get(captions[0]["thumbnail"])
    assert thumbnail.status_code == 200
    assert Image.open(io.BytesIO(thumbnail.content)).size == (320, 120)


def test_lookups_are_the_same_after_a_reset(api: TopviewApi) -> None:
    before = voices(api, pageSize="100")["data"]
    api.controls.reset()
    after = voices(api, pageSize="100")["data"]
    assert [v["voiceId"] for v in before] == [v["voiceId"] for v in after]


@pytest.mark.parametrize("operation", ["voice_query", "caption_list"])
def test_x_mock_fault_applies(api: TopviewApi, operation: str) -> None:
    answer = api.call(operation, headers={**api.credentials()["headers"],
                                          "X-Mock-Fault": "error=5001"})
    assert answer["code"] == "5001"


def test_lookups_need_credentials(api: TopviewApi) -> None:
    assert api.call("caption_list", headers={})["code"] == "401"
