"""``/ai/image/cut/out``: synchronous background removal with real image bytes."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from bgmock.server.core import imaging, remote
from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.providers.aidge.errors import DATA_CLASS, AidgeBusinessError

PROVIDER = "aidge"
RESULT_BUCKET = "nhci-image"
RESULT_PREFIX = "data/general_matting_online/AIDC_AIB_SERVICE"
MIN_SIDE, MAX_SIDE = 100, 3000
WHITE = (255, 255, 255)
DATA_URI = re.compile(r"^data:[\w/+.-]*;base64,")
CHINA = timezone(timedelta(hours=8), "UTC+8")  # the time zone of the docs' result names


def request_ids(engine: Engine) -> tuple[str, str]:
    """``requestId`` (= ``_trace_id_``, 30 hex) and the gateway's ``request_id`` (25 chars)."""
    millis = int(engine.clock.now() * 1000) % 10**13
    return (engine.ids.hex("aidge.request", 30),
            f"2101{engine.ids.hex('aidge.gateway', 8)}{millis:013d}")


class SideOutOfRange(imaging.ImageError):
    pass


@dataclass(frozen=True)
class CutOut:
    data: bytes
    extension: str
    size: tuple[int, int]
    score: float


def render(data: bytes, limits: imaging.Limits, background: str,
           target: tuple[int | None, int | None]) -> CutOut:
    """White JPG or transparent PNG (A11); with a target size: cropped to the subject, then
    scaled to fit and centred (A12); without: the original frame, subject where it was."""
    probe = imaging.probe(data, limits)
    if not all(MIN_SIDE <= side <= MAX_SIDE for side in (probe.width, probe.height)):
        raise SideOutOfRange(f"{probe.width}x{probe.height} px")
    image = imaging.pixels(data, limits)  # RGB or RGBA
    cut = imaging.cut_out(image)
    if target == (None, None):
        subject = image  # not used again: its alpha becomes the mask in place
        subject.putalpha(cut.mask)
    else:
        width, height = target[0] or image.width, target[1] or image.height
        subject = imaging.fit(cut.cropped, width, height, (0, 0, 0, 0))
    if background == "WHITE_BACKGROUND":
        return CutOut(imaging.encode(imaging.on_background(subject, WHITE), "jpg"), "jpg",
                      subject.size, cut.score)
    return CutOut(imaging.encode(subject, "png"), "png", subject.size, cut.score)


def _pixels(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


async def _input(call: Call, ids: tuple[str, str]) -> bytes:
    """imageBase64 wins when both are given (provider-docs/002)."""
    encoded = call.params.get("imageBase64") or ""
    if encoded:
        try:
            return base64.b64decode(DATA_URI.sub("", "".join(encoded.split())), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AidgeBusinessError(700, ids, "imageBase64") from exc
    try:
        return await remote.image_bytes(call.engine, call.params["imageUrl"], call.base_url)
    except remote.RemoteImageTooLarge as exc:
        raise AidgeBusinessError(705, ids) from exc
    except remote.RemoteImageError as exc:
        raise AidgeBusinessError(704, ids, "imageUrl") from exc


async def cut_out(call: Call) -> dict[str, Any]:
    engine, account, params = call.engine, call.account, call.params
    assert account is not None
    ids: tuple[str, str] = call.request_id  # set by the pipeline (AidgeSpec.request_id)
    # The stores this request started with: a reset while it awaits leaves the fresh state
    # untouched (its result goes to the old store, as the task work does, D93).
    files, id_source = engine.files, engine.ids
    if not engine.rates.allow(f"aidge/api/{account.key}", account.extra["qps"]):
        raise AidgeBusinessError(501, ids)                                     # A7
    data = await _input(call, ids)
    if len(data) > engine.settings.aidge_max_image_bytes:
        raise AidgeBusinessError(705, ids)                                     # A18
    target = (_pixels(params.get("targetWidth")), _pixels(params.get("targetHeight")))
    try:
        result = await imaging.offload(render, data, engine.image_limits,
                                         params["backGroundType"], target)
    except (SideOutOfRange, imaging.ImageTooLarge) as exc:
        raise AidgeBusinessError(703, ids) from exc
    except imaging.ImageError as exc:
        raise AidgeBusinessError(704, ids) from exc
    now = engine.clock.now()
    key = result_key(now, id_source.hex("aidge.result"), result.score, result.extension)
    files.put(RESULT_BUCKET, key, result.data,  # kept as long as its URL lives (D92)
                     "image/jpeg" if result.extension == "jpg" else "image/png",
                     ttl=engine.settings.aidge_url_ttl)
    charge(account, trial=call.incoming is not None and is_trial(call.incoming.headers))
    return {"score": result.score,
            "imageUrl": engine.oss.url(call.base_url, RESULT_BUCKET, key, now=now,
                                       ttl=engine.settings.aidge_url_ttl),
            "usage": 1, "width": result.size[0], "height": result.size[1],
            "class": DATA_CLASS}


def result_key(now: float, token: str, score: float, extension: str) -> str:
    """The docs' result name: ``<32 hex>_<yyyymmddHHMM in UTC+8>_<score>.<ext>`` (A20, D63);
    the docs' 06:30 UTC request is stamped ``202406261430``."""
    stamp = datetime.fromtimestamp(now, CHINA).strftime("%Y%m%d%H%M")
    return f"{RESULT_PREFIX}/{token}_{stamp}_{score}.{extension}"


def is_trial(headers: dict[str, str]) -> bool:
    return headers.get("x-iop-trial", "").strip().lower() == "true"


def has_quota(account: Account, trial: bool) -> bool:
    """Trial calls spend trial quota, then purchased; others purchased only (A5)."""
    extra = account.extra
    return (trial and extra["trial_quota"] > 0) or extra["quota"] > 0


def charge(account: Account, trial: bool) -> None:
    pool = "trial_quota" if trial and account.extra["trial_quota"] > 0 else "quota"
    account.extra[pool] -= 1
