"""The Topview docs pages' whole chain over HTTP, against any running mock (a port, the
container): upload -> remove background -> product background -> replace product image ->
image2Video, with real bytes checked at every step. Each task is given ``X-Mock-Fault:
polls=1`` so it ends on its first query, on whatever clock the server runs."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import av
import httpx
from PIL import Image, ImageDraw

from bgmock import contracts

DEMO = {"Topview-Uid": "NsDAaOPF4jLuAie4ewyg",
        "Authorization": "Bearer sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"}
VOICE = "zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t"      # provider-docs/001
OPERATIONS = contracts.operations("topview")["operations"]
ONE_POLL = {**DEMO, "X-Mock-Fault": "polls=1"}


@dataclass(frozen=True)
class ChainResult:
    cutout_file_id: str
    background: Image.Image
    replaced: Image.Image
    video: tuple[str, int, int, int]       # codec, width, height, frames


def product_png() -> bytes:
    img = Image.new("RGB", (320, 240), (236, 238, 240))
    ImageDraw.Draw(img).ellipse((90, 40, 230, 200), fill=(180, 40, 60))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def call(http: httpx.Client, operation: str, headers: dict[str, str] = DEMO,
         **kwargs: Any) -> Any:
    """One Topview operation by its contract name; the answer checked against its schema."""
    op = OPERATIONS[operation]
    answer = http.request(op["method"], f"/topview{op['path']}", headers=headers, **kwargs)
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    assert body.get("code") == "200", body
    contracts.validate("topview", f"{operation}.response", body)
    return body["result"]


def finished(http: httpx.Client, operation: str, task_id: str) -> dict[str, Any]:
    result = call(http, operation, params={"taskId": task_id})
    assert result["status"] == "success", result
    return result


def image(http: httpx.Client, url: str) -> Image.Image:
    got = http.get(url)
    assert got.status_code == 200, got.text[:300]
    picture = Image.open(io.BytesIO(got.content))
    picture.load()
    return picture


def probe_mp4(data: bytes) -> tuple[str, int, int, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, stream.width, stream.height, frames


def run(http: httpx.Client) -> ChainResult:
    grant = call(http, "upload_credential", params={"format": "png"})
    assert http.put(grant["uploadUrl"], content=product_png()).status_code == 200
    removed = finished(http, "remove_background_query", call(
        http, "remove_background_submit", ONE_POLL,
        json={"productImageFileId": grant["fileId"]})["taskId"])
    cutout = removed["bgRemovedImageFileId"]

    scene = finished(http, "product_background_query", call(
        http, "product_background_submit", ONE_POLL,
        json={"productImageWithoutBackgroundFileId": cutout, "mode": "prompt",
              "prompt": "a sunny kitchen counter"})["taskId"])
    background = image(http, scene["anyfitImages"][0]["url"])

    avatar = call(http, "public_avatar_query", params={"pageSize": "1"})["data"][0]["avatarId"]
    replaced = finished(http, "replace_product_image_query", call(
        http, "replace_product_image_submit", ONE_POLL,
        json={"productImageWithoutBackgroundFileId": cutout, "generateImageMode": "auto",
              "avatarId": avatar, "imageEditPrompt": "hold it up"})["taskId"])
    first = replaced["replaceProductResult"][0]
    composite = image(http, first["url"])

    video = finished(http, "image_to_video_query", call(
        http, "image_to_video_submit", ONE_POLL,
        json={"replaceProductTaskImageId": first["imageId"], "mode": "lite",
              "scriptMode": "text", "ttsText": "Look at this", "voiceId": VOICE})["taskId"])
    mp4 = http.get(video["finishedVideoUrl"])
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    return ChainResult(cutout, background, composite, probe_mp4(mp4.content))


def check(result: ChainResult) -> None:
    assert result.background.format == "PNG" and max(result.background.size) == 1024
    assert result.replaced.format == "PNG"
    codec, width, height, frames = result.video
    assert codec == "h264" and min(width, height) == 480 and frames > 1   # lite: 480p
