"""image2Video (sheet endpoints 10, 11): a replace result (``imageId``) made into a real H.264 MP4
(:mod:`bgmock.server.core.video`) plus the ``aiAvatar``'s cover JPG and preview MP4, encoded off
the event loop. The query's result object is built by :func:`query_result`
(``(engine, base_url, task)``), which the query handler and the callbacks share.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from bgmock.server.core import imaging, lifecycle, video
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.core.plan import Lifecycle
from bgmock.server.core.tasks import Task
from bgmock.server.providers.topview import avatars, callbacks, lookups, service
from bgmock.server.providers.topview.errors import TopviewError
from bgmock.server.providers.topview.images import ReplacedImage
from bgmock.server.providers.topview.product_avatar import (
    BIZ_TYPES,
    IMAGE2VIDEO,
    account,
    guarded,
    notice,
    own_file,
    read,
    signed_url,
    task_kind,
)
from bgmock.server.providers.topview.service import RESULT_BUCKET, RETENTION

# D130: a video takes longer than a composite (seconds of mock time).
VIDEO_LIFECYCLE = Lifecycle(pending=("init", "running"), durations=(5.0, 25.0),
                            failure_message="model service unavailable", retention=RETENTION)
VIDEO_TASKS = task_kind(VIDEO_LIFECYCLE)
VIDEO_COSTS = {"lite": 1.0, "pro": 2.0, "avatar2": 4.0, "avatar4": 6.0, "avatar4Fast": 4.0}
# I2V: lite 480p, pro 720p, the avatar modes 1080p (the short side; orientation from the image).
VIDEO_LINES = {"lite": 480, "pro": 720, "avatar2": 1080, "avatar4": 1080, "avatar4Fast": 1080}
DEFAULT_MODE, DEFAULT_SCRIPT = "avatar2", "text"                          # I2V defaults
# D134: every video is 2 s (24 frames at 12 fps) whatever the script, to keep it cheap; the
# preview 1 s at 360p.
FRAMES, FPS, PREVIEW_LINES, PREVIEW_FRAMES = 24, 12, 360, 12
AUDIO_FORMATS = {"mp3", "wav", "m4a"}
# I2V: audio up to 28 s for avatar2, 120 s for avatar4 / avatar4Fast (and, D133, lite / pro).
MAX_AUDIO_SECONDS = {"avatar2": 28.0}
DEFAULT_MAX_AUDIO = 120.0
# The docs' voice ids, accepted by image2Video (D135). The voice lookup (/v1/voice/query) has
# its own fixtures; every id it lists must be added here when the two meet.
@cache
def voice_ids() -> frozenset[str]:
    """Every voice ``/v1/voice/query`` lists, and the avatars' voiceover ids (D135)."""
    return frozenset({avatars.DOCS_VOICE, *(v.voice_id for v in lookups.voices()),
                      *(a.voiceover_id for a in avatars.AVATARS)})


def known_voice(voice_id: str) -> bool:
    return voice_id in voice_ids()


@dataclass(frozen=True)
class VideoFiles:
    """What a finished image2Video task points at (T26, D134)."""

    video_key: str
    cover_key: str
    preview_key: str
    aiavatar_id: str
    aiavatar_name: str
    voice_id: str | None


@dataclass(frozen=True)
class Rendition:
    """The three files of one video, encoded together off the event loop."""

    video: bytes
    cover: bytes
    preview: bytes


def video_keys(owner: str, export: str, cover: str, model: str, preview: str) -> tuple[str, ...]:
    return (f"analyzed_video/task/export/{export}_topview.ai.mp4",
            f"analyzed_video/task/custom_aiavatar/{owner}/product_avatar/{cover}.jpg",
            f"aiavatar/user_instant_model/{owner}/{model}/result/{preview}.mp4")


def clips(size: tuple[int, int], mode: str) -> tuple[video.Clip, video.Clip]:
    """The video's clip at the mode's resolution and the preview's (D134)."""
    main = video.Clip(*video.frame_size(size, VIDEO_LINES[mode]), frames=FRAMES, fps=FPS)
    preview = video.Clip(*video.frame_size(size, PREVIEW_LINES), frames=PREVIEW_FRAMES, fps=FPS)
    return main, preview


def render_video(image: bytes, mode: str, limits: imaging.Limits) -> Rendition:
    """The finished video, its cover JPG and the avatar's preview MP4 (bytes in, bytes out),
    in the image's orientation."""
    probe = imaging.probe(image, limits)
    main, preview = clips((probe.width, probe.height), mode)
    return Rendition(video.pan_zoom_mp4(image, main, limits),
                     video.still_jpg(image, main.width, main.height, limits),
                     video.pan_zoom_mp4(image, preview, limits))


def audio_seconds(data: bytes) -> float | None:
    """The audio's length in seconds, None when it is not readable audio."""
    import av  # here, not at the top: start-up stays fast (see core.video)


    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                return None
            if container.duration is not None:
                return container.duration / av.time_base
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            return None
    except Exception:  # whatever a crafted file makes the demuxer raise: not readable audio
        return None


async def _check_script(call: Call, mode: str) -> None:
    """T25: text needs ttsText and voiceId (a known voice); audio an uploaded, readable audio
    file no longer than the mode allows."""
    params = call.params
    if (params.get("scriptMode") or DEFAULT_SCRIPT) == "text":
        if not params.get("ttsText") or not params.get("voiceId"):
            raise TopviewError("4003")
        if not known_voice(params["voiceId"]):
            raise TopviewError("4004")
        return
    if not params.get("audioFileId"):
        raise TopviewError("4003")
    audio = own_file(call, params["audioFileId"])
    if audio.format not in AUDIO_FORMATS:
        raise TopviewError("4000")
    data = await read(call.engine, audio.bucket, audio.key)
    seconds = await imaging.offload(audio_seconds, data)
    if seconds is None or seconds > MAX_AUDIO_SECONDS.get(mode, DEFAULT_MAX_AUDIO):
        raise TopviewError("4000")


async def _image2video(engine: Engine, owner: str, image: ReplacedImage, mode: str,
                       voice_id: str | None) -> VideoFiles:
    files, ids, tasks = engine.files, engine.ids, engine.tasks  # D93
    data = await read(engine, image.bucket, image.key)
    rendition = await imaging.offload(guarded, render_video, data, mode,
                                      engine.image_limits)
    if tasks.closed:
        raise RuntimeError("the mock was reset")
    keys = video_keys(owner, *(ids.hex("topview.dir") for _ in range(4)))
    for key, content, mime in zip(keys, (rendition.video, rendition.cover, rendition.preview),
                                  ("video/mp4", "image/jpeg", "video/mp4"), strict=True):
        files.put(RESULT_BUCKET, key, content, mime, ttl=RETENTION)
    stamp = time.strftime("%y%m%d%H%M%S", time.gmtime(engine.clock.now()))
    return VideoFiles(*keys, aiavatar_id=ids.hex("topview.aiavatar"),
                      aiavatar_name=f"Product Avatar_{stamp}_1", voice_id=voice_id)


async def image_to_video_submit(call: Call) -> dict[str, Any]:
    engine, caller, params = call.engine, account(call), call.params
    image = service.state(engine).images.owned(params["replaceProductTaskImageId"], caller.key)
    if image is None or not engine.files.exists(image.bucket, image.key):
        raise TopviewError("4004")
    mode = params.get("mode") or DEFAULT_MODE
    if not image.face_existence and mode != "avatar2":
        raise TopviewError("4000")  # T24
    await _check_script(call, mode)
    voice_id = params.get("voiceId") or None
    task = await lifecycle.submit(
        engine, VIDEO_TASKS, account=caller, operation=IMAGE2VIDEO, fault=call.fault,
        payload=params, cost=VIDEO_COSTS[mode],
        work=lambda: _image2video(engine, caller.key, image, mode, voice_id),
        listeners=callbacks.listeners(call, IMAGE2VIDEO))
    return notice(call, task)


def image_to_video_query_result(engine: Engine, base_url: str, task: Task,
                             cloudfront: bool = False) -> dict[str, Any]:
    """The query's ``result`` object for ``task`` as it stands (T9, T26)."""
    answer: dict[str, Any] = {"taskId": task.id, "status": task.status,
                              "finishedVideoUrl": None, "aiAvatar": None, "costCredit": None,
                              "errorMsg": None}
    if task.status == VIDEO_LIFECYCLE.failure:
        answer["errorMsg"] = task.error
    elif task.status == VIDEO_LIFECYCLE.success:
        result: VideoFiles = task.result

        def url(key: str) -> str:
            return signed_url(engine, base_url, RESULT_BUCKET, key, cloudfront)

        answer["finishedVideoUrl"] = url(result.video_key)
        answer["aiAvatar"] = {
            "aiavatarId": result.aiavatar_id, "aiavatarName": result.aiavatar_name,
            "gender": None, "coverUrl": url(result.cover_key),
            "previewVideoUrl": url(result.preview_key), "ethnicities": None,
            "voiceoverIdDefault": result.voice_id, "faceSquareConfig": None}
        answer["costCredit"] = task.cost
    return answer


async def image_to_video_query(call: Call) -> dict[str, Any]:
    return await service.polled(call, VIDEO_TASKS, IMAGE2VIDEO, image_to_video_query_result)


def query_result(engine: Engine, base_url: str, task: Task) -> dict[str, Any]:
    """The query result object of an image2Video task (for callbacks; T28)."""
    return image_to_video_query_result(engine, base_url, task)


callbacks.register(IMAGE2VIDEO, BIZ_TYPES[IMAGE2VIDEO], query_result)  # T28, T29
