"""Topview's product avatar: remove background -> replace product image (manual, auto) ->
image2Video, with real composites and a real H.264 MP4; the rules and codes of each step
(T21-T26, D130-D136), on the virtual clock, in-process and over a socket."""

from __future__ import annotations

import io
import math
import wave
from typing import Any

import av
import httpx
import pytest
from bgmock.server.core import imaging
from bgmock.server.core.accounts import Account
from bgmock.server.providers.topview import image_to_video, product_avatar
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock, running_server
from PIL import Image, ImageChops

from bgmock import contracts
from tests import topview_chain
from tests.topview_calls import DEMO, Api
from tests.topview_chain import probe_mp4

PRODUCT = imaging.encode(imaging.synthetic_product("avatar-flow", 400, 300, (100, 40, 260, 280)),
                         "png")
SCENE = imaging.encode(Image.new("RGB", (480, 640), (240, 240, 240)), "png")  # portrait
LOCATION = [[0.25, 0.5], [0.75, 0.5], [0.75, 0.9], [0.25, 0.9]]
VOICE = "zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t"       # provider-docs/001
TEXT = {"scriptMode": "text", "ttsText": "test product avatar", "voiceId": VOICE}


def _image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _cutout(api: Api) -> str:
    task_id = api.submit(api.upload(PRODUCT))
    api.controls.advance(10)
    done = api.query(task_id)["result"]
    assert done["status"] == "success"
    return str(done["bgRemovedImageFileId"])


def replace(api: Api, fault: str | None = None, **body: Any) -> dict[str, Any]:
    headers = {**DEMO, **({"X-Mock-Fault": fault} if fault else {})}
    return api.call("replace_product_image_submit", json=body, headers=headers)


def query_replace(api: Api, task_id: str, **params: str) -> dict[str, Any]:
    return api.call("replace_product_image_query", params={"taskId": task_id, **params})["result"]


def to_video(api: Api, fault: str | None = None, **body: Any) -> dict[str, Any]:
    headers = {**DEMO, **({"X-Mock-Fault": fault} if fault else {})}
    return api.call("image_to_video_submit", json=body, headers=headers)


def query_video(api: Api, task_id: str, **params: str) -> dict[str, Any]:
    return api.call("image_to_video_query", params={"taskId": task_id, **params})["result"]


def _replaced(api: Api, mode: str = "manual", **body: Any) -> list[dict[str, Any]]:
    cutout = _cutout(api)
    template = "" if "avatarId" in body else api.upload(SCENE)  # the fileId would win
    extra = {"location": LOCATION} if mode == "manual" else {"imageEditPrompt": "hold it"}
    submitted = replace(api, generateImageMode=mode, templateImageFileId=template,
                        productImageWithoutBackgroundFileId=cutout, **{**extra, **body})
    assert submitted["code"] == "200", submitted
    task_id = submitted["result"]["taskId"]
    api.controls.advance(30)
    done = query_replace(api, task_id)
    assert done["status"] == "success" and done["costCredit"] == product_avatar.REPLACE_COST
    return list(done["replaceProductResult"])


def test_the_chain_manual_to_a_playable_mp4(api: Api) -> None:
    """remove background -> replace (manual) -> image2Video: real bytes at every step."""
    results = _replaced(api)
    assert [r["faceExistence"] for r in results] == [True, False]      # T23: manual -> 2
    composite = _image(api.http.get(results[0]["url"]).content)
    assert composite.format == "PNG" and composite.size == (480, 640)
    # The product is in the location's box, the rest of the scene untouched.
    assert composite.convert("RGB").getpixel((240, 460)) != (240, 240, 240)
    assert composite.convert("RGB").getpixel((20, 20)) == (240, 240, 240)
    close_up = _image(api.http.get(results[1]["url"]).content)
    assert close_up.width < 480 and close_up.height < 640                # the face cropped off

    submitted = to_video(api, replaceProductTaskImageId=results[0]["imageId"], mode="lite",
                         **TEXT)
    assert submitted["code"] == "200", submitted
    task_id = submitted["result"]["taskId"]
    pending = query_video(api, task_id)
    assert pending["status"] == "init" and pending["finishedVideoUrl"] is None
    assert pending["aiAvatar"] is None and pending["costCredit"] is None
    api.controls.advance(60)
    done = query_video(api, task_id)
    assert done["status"] == "success" and done["costCredit"] == 1.0      # T12: lite
    assert "_topview.ai.mp4" in done["finishedVideoUrl"]
    mp4 = api.http.get(done["finishedVideoUrl"])
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    codec, width, height, frames = probe_mp4(mp4.content)
    assert (codec, width, height) == ("h264", 480, 854)                   # lite: 480p, portrait
    assert frames == image_to_video.FRAMES > 1
    avatar = done["aiAvatar"]
    assert avatar["aiavatarName"].startswith("Product Avatar_")
    assert avatar["voiceoverIdDefault"] == VOICE
    cover = _image(api.http.get(avatar["coverUrl"]).content)
    assert cover.format == "JPEG" and cover.size == (480, 854)
    assert probe_mp4(api.http.get(avatar["previewVideoUrl"]).content)[0] == "h264"


def test_the_chain_auto_with_an_avatar_template() -> None:
    """auto mode gives one result (faceExistence true) on an avatar's image (avatarId)."""
    mock = InProcessMock()
    try:
        with mock.client() as http:
            api = Api("inprocess", http, mock, mock.engine)
            avatars = api.call("public_avatar_query", params={"pageSize": "1"})["result"]
            avatar = avatars["data"][0]
            template = _image(http.get(avatar["avatarImagePath"]).content)
            assert template.size == (720, 1280)
            results = _replaced(api, "auto", avatarId=avatar["avatarId"])
            assert len(results) == 1 and results[0]["faceExistence"] is True
            image = _image(http.get(results[0]["url"]).content)
            assert image.size == (720, 1280)
            assert ImageChops.difference(image.convert("RGB"), template.convert("RGB")).getbbox()
            task = to_video(api, replaceProductTaskImageId=results[0]["imageId"], mode="pro",
                            **TEXT)["result"]["taskId"]
            mock.advance(60)
            done = query_video(api, task)
            assert probe_mp4(http.get(done["finishedVideoUrl"]).content)[1:3] == (720, 1280)
    finally:
        mock.close()


def test_a_faceless_image_allows_only_avatar2(mock: InProcessMock) -> None:
    with mock.client() as http:
        _faceless_rule(Api("inprocess", http, mock, mock.engine))


def _faceless_rule(api: Api) -> None:
    faceless = _replaced(api)[1]["imageId"]
    for mode in ("lite", "pro", "avatar4", "avatar4Fast"):
        refused = to_video(api, replaceProductTaskImageId=faceless, mode=mode, **TEXT)
        assert refused["code"] == "4000", mode                              # T24
    accepted = to_video(api, replaceProductTaskImageId=faceless, **TEXT)  # avatar2, the default
    assert accepted["code"] == "200"
    api.controls.advance(60)
    done = query_video(api, accepted["result"]["taskId"])
    assert done["costCredit"] == 4.0                                        # T12: avatar2
    _, width, height, _ = probe_mp4(api.http.get(done["finishedVideoUrl"]).content)
    assert min(width, height) == 1080                                       # 1080p


def test_credits_by_mode_are_charged_on_success(mock: InProcessMock,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_to_video, "FRAMES", 2)  # the charge is the point, not the video
    with mock.client() as http:
        api = Api("inprocess", http, mock, mock.engine)
        image = "7e66ece3b4384e929fff91da2918e2d6"                          # docs' imageId
        for mode, cost in image_to_video.VIDEO_COSTS.items():
            before = api.call("credit_detail")["result"]["remainCredit"]
            assert to_video(api, replaceProductTaskImageId=image, mode=mode, **TEXT,
                            )["code"] == "200"
            mock.advance(60)
            api.call("credit_detail")
            assert api.call("credit_detail")["result"]["remainCredit"] == before - cost, mode


@pytest.mark.parametrize(("body", "code"), [
    ({"generateImageMode": "manual"}, "4003"),                          # no location
    ({"generateImageMode": "manual", "location": [[0, 0], [1, 0]]}, "4000"),
    ({"generateImageMode": "manual", "location": [[1.2, 1.2], [1.5, 1.2], [1.5, 1.5],
                                                  [1.2, 1.5]]}, "4000"),  # nothing inside
    ({"generateImageMode": "manual", "location": [[0.6, 0.2], [0.2, 0.2], [0.2, 0.6],
                                                  [0.6, 0.6]]}, "4000"),  # not clockwise
    ({"generateImageMode": "manual", "location": [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5],
                                                  [-0.5, 0.5]]}, "200"),   # partly outside
    ({"generateImageMode": "sideways"}, "4000"),
    ({"generateImageMode": "auto", "templateImageFileId": ""}, "4000"),  # neither template
    ({"generateImageMode": "auto", "templateImageFileId": "0" * 32}, "4004"),
    ({"generateImageMode": "auto", "avatarId": "0" * 32, "templateImageFileId": ""}, "4004"),
    ({"generateImageMode": "auto", "productImageWithoutBackgroundFileId": "f" * 32}, "4004"),
    ({"generateImageMode": "auto", "productImageWithoutBackgroundFileId": ""}, "4003"),
    ({"generateImageMode": "auto", "userFaceImageFileId": "e" * 32}, "4004"),
    ({"generateImageMode": "auto", "imageEditPrompt": "x" * 4001}, "4000"),
    ({"generateImageMode": "auto", "location": "middle"}, "4001"),
])
def test_replace_refusals(mock: InProcessMock, body: dict[str, Any], code: str) -> None:
    with mock.client() as http:
        api = Api("inprocess", http, mock, mock.engine)
        full = {"templateImageFileId": "c62216b7e35e4e8598edc29a4041c7b6",
                "productImageWithoutBackgroundFileId": "722e4c0ebdc148e295df9fe30c3160bd",
                **body}
        assert replace(api, **full)["code"] == code


def _wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))
    return out.getvalue()


def test_image2video_script_rules(mock: InProcessMock) -> None:
    """T25: text needs ttsText + a known voiceId; audio an uploaded audio file within the
    mode's length (28 s for avatar2, 120 s for avatar4)."""
    with mock.client() as http:
        api = Api("inprocess", http, mock, mock.engine)
        image = {"replaceProductTaskImageId": "7e66ece3b4384e929fff91da2918e2d6"}
        codes = {
            "no text": to_video(api, **image, voiceId=VOICE)["code"],
            "no voice": to_video(api, **image, ttsText="hi")["code"],
            "unknown voice": to_video(api, **image, ttsText="hi", voiceId="nobody")["code"],
            "no audio": to_video(api, **image, scriptMode="audio", audioFileId="")["code"],
            "not audio": to_video(api, **image, scriptMode="audio",
                                  audioFileId=api.upload(PRODUCT))["code"],
            "unreadable": to_video(api, **image, scriptMode="audio",
                                   audioFileId=api.upload(b"RIFF" + b"\0" * 40, "wav"))["code"],
            "too long": to_video(api, **image, scriptMode="audio", mode="avatar2",
                                 audioFileId=api.upload(_wav(30), "wav"))["code"],
            "unknown image": to_video(api, replaceProductTaskImageId="a" * 32, **TEXT)["code"],
            "bad mode": to_video(api, **image, mode="ultra", **TEXT)["code"],
        }
        assert codes == {"no text": "4003", "no voice": "4003", "unknown voice": "4004",
                         "no audio": "4003", "not audio": "4000", "unreadable": "4000",
                         "too long": "4000", "unknown image": "4004", "bad mode": "4000"}
        long_ok = to_video(api, **image, scriptMode="audio", mode="avatar4",
                           audioFileId=api.upload(_wav(30), "wav"))
        assert long_ok["code"] == "200"


def test_another_account_cannot_use_an_image_or_task(mock: InProcessMock) -> None:
    with mock.client() as http:
        api = Api("inprocess", http, mock, mock.engine)
        mock.engine.accounts.add(Account("topview", "other-uid", "sk-other", credits=100.0,
                                         concurrency=8))
        other = {"Topview-Uid": "other-uid", "Authorization": "Bearer sk-other"}
        answer = api.call("image_to_video_submit", headers=other, json={
            "replaceProductTaskImageId": "7e66ece3b4384e929fff91da2918e2d6", **TEXT})
        assert answer["code"] == "4004"
        answer = api.call("replace_product_image_query", headers=other,
                          params={"taskId": "3179dd887d294ab797fa85eea49fb25f"})
        assert answer["code"] == "4004"


def test_failed_tasks_are_not_charged_and_say_why(mock: InProcessMock) -> None:
    with mock.client() as http:
        api = Api("inprocess", http, mock, mock.engine)
        before = api.call("credit_detail")["result"]["remainCredit"]
        task = replace(api, fault="fail=model service unavailable", generateImageMode="auto",
                       templateImageFileId="c62216b7e35e4e8598edc29a4041c7b6",
                       productImageWithoutBackgroundFileId="722e4c0ebdc148e295df9fe30c3160bd")
        video = to_video(api, fault="fail", replaceProductTaskImageId=(
            "7e66ece3b4384e929fff91da2918e2d6"), **TEXT)
        mock.advance(60)
        failed = query_replace(api, task["result"]["taskId"])
        assert failed["status"] == "fail" and failed["errorMsg"] == "model service unavailable"
        assert failed["replaceProductResult"] == [] and failed["costCredit"] is None
        failed = query_video(api, video["result"]["taskId"])
        assert failed["status"] == "fail" and failed["finishedVideoUrl"] is None
        assert api.call("credit_detail")["result"]["remainCredit"] == before


@pytest.mark.parametrize("operation", ["replace_product_image_submit",
                                       "replace_product_image_query", "image_to_video_submit",
                                       "image_to_video_query", "public_avatar_query",
                                       "avatar_category_list"])
def test_each_operation_takes_x_mock_fault(mock: InProcessMock, operation: str) -> None:
    with mock.client() as http:
        api = Api("inprocess", http, mock, mock.engine)
        example = contracts.load("topview", f"{operation}.request")["examples"][0]
        where = "json" if operation.endswith("submit") else "params"
        body = api.call(operation, headers={**DEMO, "X-Mock-Fault": "error=5003"},
                        **{where: example})
        assert body == {"code": "5003", "message": "Server is busy, please try again later!",
                        "result": None}


def test_query_result_is_what_the_query_answers(mock: InProcessMock) -> None:
    """The callback engine reuses ``query_result``: the same object the query gives."""
    with mock.client() as http:
        api = Api("inprocess", http, mock, mock.engine)
        for task_id, operation in (("3179dd887d294ab797fa85eea49fb25f",
                                    "replace_product_image_query"),
                                   ("8aa992b4cfd24082a564710cbee2132c", "image_to_video_query")):
            answered = api.call(operation, params={"taskId": task_id})["result"]
            task = mock.engine.tasks.get(task_id)
            assert task is not None
            module = product_avatar if operation.startswith("replace") else image_to_video
            made = module.query_result(mock.engine, "http://bgmock.test", task)
            assert made.keys() == answered.keys()
            assert made["status"] == answered["status"] == "success"


def test_the_pan_zoom_moves() -> None:
    """Not a still: the first and last frames differ."""
    data = image_to_video.render_video(PRODUCT, "lite", imaging.Limits(1 << 26, 1 << 24)).video
    with av.open(io.BytesIO(data)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == image_to_video.FRAMES
    assert not (frames[0] == frames[-1]).all()
    assert math.isclose(len(frames) / image_to_video.FPS, 2.0)


def test_the_docs_chain_over_a_socket_on_the_real_clock() -> None:
    # the chain the container test runs too (tests/topview_chain.py), here on a local port
    with running_server(Settings()) as served, \
            httpx.Client(base_url=served.base_url, timeout=60) as http:
        topview_chain.check(topview_chain.run(http))
