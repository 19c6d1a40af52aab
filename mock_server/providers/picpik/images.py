"""RawImage in, cut-out out: PICPIK's knobs as core matting options (K10, D183, D184).

Everything here that touches pixels is a module-level function with picklable arguments: it
runs in the imaging workers (:func:`bgmock.server.core.imaging.offload`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bgmock.server.core import imaging, matting

DATA_URI = re.compile(r"data:[\w/+.-]*;base64,")
# The docs' examples carry placeholders where the image goes (data:image/jpeg;base64,xxx and
# ,yyyy): each stands for the docs' demo photo, so the examples run unchanged (D183).
PLACEHOLDERS = frozenset({"xxx", "yyyy"})
# Magic numbers of the formats the mock decodes: bytes that start with none of them are not an
# image, and are refused at submit without decoding anything (D183).
SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
DEMO_SIZE = (720, 720)
# Anime: flat colours and hard outlines, so the mask is made binary (alpha 0 or 255, D184).
ANIME_CUT = 128


class BadImage(ValueError):
    """The RawImage cannot be an image (not base64, not an image format, too large)."""


@dataclass(frozen=True, slots=True)
class Knobs:
    """The request's background-removal parameters, defaults filled in (providers/picpik.md)."""

    box: tuple[int, int, int, int] | None = None
    erode: int = 15
    foreground: int = 240
    background: int = 15
    hair: str = "auto"
    only_mask: bool = False
    anime: bool = False

    @classmethod
    def of(cls, params: dict[str, Any]) -> Knobs:
        box = params.get("Box")
        return cls(box=tuple(int(v) for v in box) if box is not None else None,  # type: ignore[arg-type]
                   erode=int(params.get("ErodeSize", 15)),
                   foreground=int(params.get("ForegroundThreshold", 240)),
                   background=int(params.get("BackgroundThreshold", 15)),
                   hair=params.get("HairOptimization", "auto"),
                   only_mask=params.get("OnlyMask", False) is True,
                   anime=params.get("RemoveType", "General") == "Anime")


def decode_raw(raw: str, max_bytes: int) -> bytes | None:
    """The image bytes of a RawImage (data URI or bare base64); None for the docs' placeholder
    (the demo photo). :class:`BadImage` when it is no image of at most ``max_bytes``."""
    match = DATA_URI.match(raw)
    encoded = raw[match.end():] if match else raw
    if match and encoded in PLACEHOLDERS:
        return None
    if len(encoded) > -(-max_bytes // 3) * 4 * 21 // 20 + 16:  # room for line breaks
        raise BadImage("too large")  # refused before decoding
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        try:  # MIME-style line breaks
            data = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadImage("not base64") from exc
    if len(data) > max_bytes:
        raise BadImage("too large")
    if not data.startswith(SIGNATURES) and not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        raise BadImage("not an image")
    return data


@lru_cache(maxsize=1)
def demo_photo() -> bytes:
    """The docs' demo photo (a synthetic product on a plain background), made once per worker."""
    return imaging.encode(imaging.synthetic_product("picpik-docs", *DEMO_SIZE), "jpg")


@dataclass(frozen=True, slots=True)
class CutResult:
    png: bytes
    width: int
    height: int


def cut(data: bytes | None, limits: imaging.Limits, knobs: Knobs) -> CutResult:
    """The task's result image: the cut-out (RGBA PNG) or, with OnlyMask, the mask (L PNG)."""
    source = demo_photo() if data is None else data
    options = matting.Matting(
        box=knobs.box,  # clipped to the image by matting
        erode=knobs.erode,
        foreground_threshold=ANIME_CUT if knobs.anime else knobs.foreground,
        background_threshold=ANIME_CUT - 1 if knobs.anime else knobs.background,
        alpha_matting=True,
        refine_edges=knobs.hair == "on",
        only_mask=knobs.only_mask,
        fmt="PNG")
    result = matting.remove_background(source, limits, options)
    return CutResult(result.data, result.width, result.height)

