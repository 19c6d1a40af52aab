"""Product avatar: replace product image (manual | auto) and image2Video (sheet endpoints 8-11).

Replace puts the cut-out into the avatar's or template's image (real composites, made off the
event loop) and remembers each result's ``imageId`` (:mod:`.images`); image2Video turns one of
them into a real H.264 MP4 (:mod:`bgmock.server.core.video`) plus the ``aiAvatar``'s cover JPG
and preview MP4. Each query's result object is built by :func:`replace_query_result` /
:func:`image_to_video_query_result` (``query_result(engine, base_url, task)``), which the query
handlers and the callbacks share.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

from bgmock.server.core import imaging, lifecycle, video
from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.core.plan import Lifecycle
from bgmock.server.core.tasks import Task
from bgmock.server.providers.topview import avatars, placement, service
from bgmock.server.providers.topview.errors import TopviewError
from bgmock.server.providers.topview.images import ReplacedImage
from bgmock.server.providers.topview.service import (
    CLOUDFRONT_TTL,
    DISTRIBUTION,
    IMAGE_FORMATS,
    PROVIDER,
    RESULT_BUCKET,
    RETENTION,
    S3_TTL,
    TopviewFile,
)

REPLACE, IMAGE2VIDEO = "replace_product_image", "image_to_video"
# The callback's bizType of each (T29).
BIZ_TYPES = {REPLACE: "PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE",
             IMAGE2VIDEO: "PRODUCT_AVATAR_IMAGE2VIDEO"}
# D130: replace takes longer than remove background, a video longer still (seconds of mock time).
REPLACE_LIFECYCLE = Lifecycle(pending=("init", "running"), durations=(2.0, 8.0),
                              failure_message="model service unavailable", retention=RETENTION)
VIDEO_LIFECYCLE = Lifecycle(pending=("init", "running"), durations=(5.0, 25.0),
                            failure_message="model service unavailable", retention=RETENTION)


def _kind(states: Lifecycle) -> lifecycle.TaskKind:
    return lifecycle.TaskKind(PROVIDER, states, not_found=lambda: TopviewError("4004"),
                              too_many=lambda: TopviewError("4007"),
                              no_credits=lambda: TopviewError("4100"))


REPLACE_TASKS, VIDEO_TASKS = _kind(REPLACE_LIFECYCLE), _kind(VIDEO_LIFECYCLE)
REPLACE_COST = 0.5                                                        # T12
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
VOICE_IDS = frozenset({avatars.DOCS_VOICE})


def known_voice(voice_id: str) -> bool:
    return voice_id in VOICE_IDS or voice_id in {a.voiceover_id for a in avatars.AVATARS}


def _account(call: Call) -> Account:
    assert call.account is not None  # every Topview operation is authenticated
    return call.account


def _own_file(call: Call, file_id: str) -> TopviewFile:
    """The caller's uploaded (or made) file, bytes present; else ``4004`` (T4)."""
    file = service.state(call.engine).files.get(file_id)
    if (file is None or file.owner != _account(call).key
            or not call.engine.files.exists(file.bucket, file.key)):
        raise TopviewError("4004")
    return file


async def _read(engine: Engine, bucket: str, key: str) -> bytes:
    obj = engine.files.get(bucket, key)
    if obj is None:
        raise RuntimeError("source image is gone")
    return await obj.read()


def _notice(call: Call, task: Task) -> dict[str, Any]:
    """The submit's answer (T8); ``noticeUuid`` as remove background gives it."""
    notice_url = call.params.get("noticeUrl") or None
    task.data["noticeUuid"] = call.engine.ids.hex("topview.notice") if notice_url else None
    call.detail["taskId"] = task.id
    return {"taskId": task.id, "status": "success", "errorMsg": None,
            "noticeUuid": task.data["noticeUuid"]}


def _url(engine: Engine, base_url: str, bucket: str, key: str, cloudfront: bool) -> str:
    """A fresh signed URL per query (T17)."""
    now = engine.clock.now()
    if cloudfront and bucket == RESULT_BUCKET:
        return engine.cloudfront.url(base_url, DISTRIBUTION, key, now=now, ttl=CLOUDFRONT_TTL)
    return engine.s3.url(base_url, bucket, key, now=now, expires=S3_TTL)


def _guarded(fn: Any, *args: Any) -> Any:
    """``imaging`` errors as task failures, in Topview's words."""
    try:
        return fn(*args)
    except imaging.ImageTooLarge as exc:
        raise RuntimeError(f"image too large: {exc}") from exc
    except imaging.ImageError as exc:
        raise RuntimeError("image decode failed: the file is not a readable image") from exc


# --- replace product image ---------------------------------------------------------------

@dataclass(frozen=True)
class ReplaceJob:
    """What one replace task reads: where its template and cut-out are, and where the product
    goes (picklable, for the imaging pool)."""

    template: tuple[str, str]
    cutout: tuple[str, str]
    quad: placement.Quad
    close_up: bool


def _template(call: Call) -> tuple[str, str]:
    """``templateImageFileId`` wins over ``avatarId``; neither -> ``4003``, unknown -> ``4004``."""
    params = call.params
    file_id, avatar_id = params.get("templateImageFileId") or "", params.get("avatarId") or ""
    if file_id:
        template = _own_file(call, file_id)
        if template.format not in IMAGE_FORMATS:
            raise TopviewError("4000")
        return template.bucket, template.key
    if avatar_id:
        avatar = avatars.BY_ID.get(avatar_id)
        if avatar is None:
            raise TopviewError("4004")
        return RESULT_BUCKET, avatar.key
    raise TopviewError("4003")


def replace_job(call: Call) -> ReplaceJob:
    """The request checked (T3, T4, T21), in the order a client fixes them."""
    params = call.params
    cutout = _own_file(call, params["productImageWithoutBackgroundFileId"])
    if cutout.format not in IMAGE_FORMATS:
        raise TopviewError("4000")
    template = _template(call)
    face = params.get("userFaceImageFileId") or ""
    if face and _own_file(call, face).format not in IMAGE_FORMATS:
        raise TopviewError("4000")
    if params["generateImageMode"] == "manual":
        if params.get("location") is None:
            raise TopviewError("4003")
        quad = placement.check_location(params["location"])
        if quad is None:
            raise TopviewError("4000")
        return ReplaceJob(template, (cutout.bucket, cutout.key), quad, close_up=True)
    quad = placement.auto_location(params.get("imageEditPrompt") or "")
    return ReplaceJob(template, (cutout.bucket, cutout.key), quad, close_up=False)


def result_key(directory: str) -> str:
    return f"analyzed_video/task/object_replace_llm/{directory}/{directory}_0.png"


async def _replace(engine: Engine, owner: str, job: ReplaceJob) -> tuple[ReplacedImage, ...]:
    files, ids, tasks, book = engine.files, engine.ids, engine.tasks, service.state(
        engine).images  # this state's stores: a reset fences the work (D93)
    template, cutout = await _read(engine, *job.template), await _read(engine, *job.cutout)
    rendered = await imaging.offload(_guarded, placement.replace_product, template, cutout,
                                     job.quad, job.close_up, engine.image_limits)
    if tasks.closed:
        raise RuntimeError("the mock was reset")
    made = []
    for index, image in enumerate(rendered):
        key = result_key(ids.hex("topview.dir"))
        files.put(RESULT_BUCKET, key, image.png, "image/png", ttl=RETENTION)
        record = ReplacedImage(ids.hex("topview.image"), owner, index == 0, RESULT_BUCKET, key)
        book.add(engine, record, RETENTION)
        made.append(record)
    return tuple(made)


async def replace_submit(call: Call) -> dict[str, Any]:
    engine, account = call.engine, _account(call)
    job = replace_job(call)
    task = await lifecycle.submit(
        engine, REPLACE_TASKS, account=account, operation=REPLACE, fault=call.fault,
        payload=call.params, cost=REPLACE_COST,
        work=lambda: _replace(engine, account.key, job))
    return _notice(call, task)


def replace_query_result(engine: Engine, base_url: str, task: Task, *,
                         cloudfront: bool = False) -> dict[str, Any]:
    """The query's ``result`` object for ``task`` as it stands (T9, T23)."""
    answer: dict[str, Any] = {"taskId": task.id, "status": task.status,
                              "replaceProductResult": [], "costCredit": None, "errorMsg": None}
    if task.status == REPLACE_LIFECYCLE.failure:
        answer["errorMsg"] = task.error
    elif task.status == REPLACE_LIFECYCLE.success:
        answer["replaceProductResult"] = [
            {"imageId": image.image_id, "faceExistence": image.face_existence,
             "url": _url(engine, base_url, image.bucket, image.key, cloudfront)}
            for image in task.result]
        answer["costCredit"] = task.cost
    return answer


async def replace_query(call: Call) -> dict[str, Any]:
    task = lifecycle.owned(call.engine, REPLACE_TASKS, call.params["taskId"],
                           _account(call).key, REPLACE)
    call.detail["taskId"] = task.id
    await call.engine.tasks.observe(task, poll=True)
    return replace_query_result(call.engine, call.base_url, task,
                                cloudfront=service.query_flag(
                                    call.params.get("needCloudFrontUrl", "")))


# --- image2Video ------------------------------------------------------------------------

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
    audio = _own_file(call, params["audioFileId"])
    if audio.format not in AUDIO_FORMATS:
        raise TopviewError("4000")
    data = await _read(call.engine, audio.bucket, audio.key)
    seconds = await imaging.offload(audio_seconds, data)
    if seconds is None or seconds > MAX_AUDIO_SECONDS.get(mode, DEFAULT_MAX_AUDIO):
        raise TopviewError("4000")


async def _image2video(engine: Engine, owner: str, image: ReplacedImage, mode: str,
                       voice_id: str | None) -> VideoFiles:
    files, ids, tasks = engine.files, engine.ids, engine.tasks  # D93
    data = await _read(engine, image.bucket, image.key)
    rendition = await imaging.offload(_guarded, render_video, data, mode,
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
    engine, account, params = call.engine, _account(call), call.params
    image = service.state(engine).images.owned(params["replaceProductTaskImageId"], account.key)
    if image is None or not engine.files.exists(image.bucket, image.key):
        raise TopviewError("4004")
    mode = params.get("mode") or DEFAULT_MODE
    if not image.face_existence and mode != "avatar2":
        raise TopviewError("4000")  # T24
    await _check_script(call, mode)
    voice_id = params.get("voiceId") or None
    task = await lifecycle.submit(
        engine, VIDEO_TASKS, account=account, operation=IMAGE2VIDEO, fault=call.fault,
        payload=params, cost=VIDEO_COSTS[mode],
        work=lambda: _image2video(engine, account.key, image, mode, voice_id))
    return _notice(call, task)


def image_to_video_query_result(engine: Engine, base_url: str, task: Task, *,
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
            return _url(engine, base_url, RESULT_BUCKET, key, cloudfront)

        answer["finishedVideoUrl"] = url(result.video_key)
        answer["aiAvatar"] = {
            "aiavatarId": result.aiavatar_id, "aiavatarName": result.aiavatar_name,
            "gender": None, "coverUrl": url(result.cover_key),
            "previewVideoUrl": url(result.preview_key), "ethnicities": None,
            "voiceoverIdDefault": result.voice_id, "faceSquareConfig": None}
        answer["costCredit"] = task.cost
    return answer


async def image_to_video_query(call: Call) -> dict[str, Any]:
    task = lifecycle.owned(call.engine, VIDEO_TASKS, call.params["taskId"],
                           _account(call).key, IMAGE2VIDEO)
    call.detail["taskId"] = task.id
    await call.engine.tasks.observe(task, poll=True)
    return image_to_video_query_result(call.engine, call.base_url, task,
                                    cloudfront=service.query_flag(
                                        call.params.get("needCloudFrontUrl", "")))


def query_result(engine: Engine, base_url: str, task: Task) -> dict[str, Any]:
    """The query result object of either kind of task (for callbacks)."""
    if task.operation == REPLACE:
        return replace_query_result(engine, base_url, task)
    return image_to_video_query_result(engine, base_url, task)
