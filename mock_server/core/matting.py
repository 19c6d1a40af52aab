"""Background removal with the knobs PICPIK and Runware expose, each with a visible effect.

Built on :mod:`imaging`'s deterministic segmentation (D171). The mask goes through the steps in this
order, each optional: ``refine_edges`` (smooth the contour, drop specks and pinholes),
``box`` (nothing outside it), ``erode`` (shrink the edge, then feather it inward by the same
amount), alpha matting (``foreground_threshold`` / ``background_threshold`` snap alpha to 255 /
0 and stretch what lies between). The result is the full frame (not cropped to the subject):
the mask itself (``only_mask``) or the image with the mask as alpha, optionally over a
``background`` colour, encoded as PNG, JPEG (no alpha: flattened on white) or WEBP.

Every function here is CPU work: providers call :func:`remove_background` and :func:`reencode`
through :func:`imaging.offload` (module-level, picklable arguments and results).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from bgmock.server.core import imaging
from PIL import Image, ImageChops, ImageFilter

FORMATS = ("PNG", "JPEG", "WEBP")
MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MAX_ERODE = 255        # px; Runware allows 1..255, PICPIK 0..40
MAX_COORDINATE = 1 << 31  # a box corner beyond any image, still exact as a float
REFINE_RADIUS = 2.0    # px; contour details smaller than this are smoothed away
REFINE_FEATHER = 1.0   # px; the anti-aliased edge a refined mask gets
# libwebp's effort 2 of 0..6: a 2048² cut-out in ~0.3 s instead of ~0.9 s at the default 4,
# at about the same size
WEBP_OPTIONS = {"method": 2}


class MattingOptionError(ValueError):
    """A :class:`Matting` field outside its range (a provider validates its input first)."""


@dataclass(frozen=True)
class Matting:
    """Background-removal options; the defaults give a plain cut-out on transparency."""

    box: tuple[int, int, int, int] | None = None   # x1, y1, x2, y2 (image px, x2/y2 exclusive)
    erode: int = 0                     # px the mask edge is eroded, then feathered by as much
    foreground_threshold: int = 255    # alpha >= this -> 255 (only with alpha_matting)
    background_threshold: int = 0      # alpha <= this -> 0 (only with alpha_matting)
    alpha_matting: bool = False
    refine_edges: bool = False         # smoother, cleaner contour
    only_mask: bool = False            # the result is the mask (L: 255 subject, 0 background)
    background: tuple[int, int, int, int] | None = None  # RGBA fill; None = transparent
    fmt: str = "PNG"                   # PNG | JPEG | WEBP
    quality: int = 95                  # JPEG / WEBP quality 1..100
    max_side: int | None = None        # downscale first so the longer side <= max_side

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise MattingOptionError(f"fmt {self.fmt!r} is not one of {FORMATS}")
        _check_range("erode", self.erode, 0, MAX_ERODE)
        _check_range("foreground_threshold", self.foreground_threshold, 0, 255)
        _check_range("background_threshold", self.background_threshold, 0, 255)
        _check_range("quality", self.quality, 1, 100)
        if self.max_side is not None:
            _check_range("max_side", self.max_side, 1, 1 << 20)
        if self.box is not None:
            if len(self.box) != 4:
                raise MattingOptionError("box must be four ints")
            for value in self.box:
                _check_range("box", value, -MAX_COORDINATE, MAX_COORDINATE)
        if self.background is not None:
            if len(self.background) != 4:
                raise MattingOptionError("background must be four ints (RGBA)")
            for value in self.background:
                _check_range("background", value, 0, 255)


def _check_range(name: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MattingOptionError(f"{name} must be an int in {low}..{high}, not {value!r}")


@dataclass(frozen=True)
class Matted:
    data: bytes
    mime: str
    width: int
    height: int


def remove_background(data: bytes, limits: imaging.Limits, options: Matting) -> Matted:
    """The cut-out (or mask) of an image, per ``options``; module-level for ``offload``.

    Raises :class:`imaging.ImageDecodeError` / :class:`imaging.ImageTooLarge`.
    """
    img = imaging.pixels(data, limits)  # RGB, or RGBA when the image has alpha
    original = img.size
    img = _capped(img, options.max_side)
    mask = alpha_mask(img, options, _scaled_box(options.box, original, img.size))
    if options.only_mask:
        return _encoded(mask, options.fmt, options.quality)
    if img.mode == "RGBA":
        cut = img.copy()
        cut.putalpha(ImageChops.multiply(img.getchannel("A"), mask))
    else:
        cut = img.convert("RGBA")
        cut.putalpha(mask)
    if options.background is not None:
        canvas = Image.new("RGBA", cut.size, options.background)
        canvas.alpha_composite(cut)
        cut = canvas
    return _encoded(cut, options.fmt, options.quality)


def reencode(data: bytes, limits: imaging.Limits, fmt: str, max_side: int | None) -> Matted:
    """An upload as the provider stores it: decoded within the limits, capped, re-encoded."""
    if fmt not in FORMATS:
        raise MattingOptionError(f"fmt {fmt!r} is not one of {FORMATS}")
    img = _capped(imaging.pixels(data, limits), max_side)
    return _encoded(img, fmt, 95)


def alpha_mask(img: Image.Image, options: Matting,
               box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """The final mask (mode L, image size) of an RGB/RGBA image; ``box`` in its pixels."""
    mask, _ = imaging.segment(img)
    if options.refine_edges:
        mask = _refined(mask)
    if box is not None:
        mask = _inside(mask, box)
    if options.erode:
        mask = _eroded(mask, options.erode)
    if options.alpha_matting:
        mask = mask.point(_threshold_table(options.foreground_threshold,
                                           options.background_threshold))
    return mask


def _capped(img: Image.Image, max_side: int | None) -> Image.Image:
    if max_side is None or max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    size = (max(1, min(max_side, round(img.width * scale))),
            max(1, min(max_side, round(img.height * scale))))
    return img.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _scaled_box(box: tuple[int, int, int, int] | None, original: tuple[int, int],
                size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The box in the (possibly downscaled) image's pixels, clipped to it (may be empty)."""
    if box is None:
        return None
    sx, sy = size[0] / original[0], size[1] / original[1]
    x1, y1, x2, y2 = box
    left = min(max(0, math.floor(min(x1, x2) * sx)), size[0])
    top = min(max(0, math.floor(min(y1, y2) * sy)), size[1])
    right = min(max(0, math.ceil(max(x1, x2) * sx)), size[0])
    bottom = min(max(0, math.ceil(max(y1, y2) * sy)), size[1])
    return left, top, right, bottom


def _inside(mask: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    out = Image.new("L", mask.size, 0)
    if box[2] > box[0] and box[3] > box[1]:
        out.paste(mask.crop(box), box[:2])
    return out


def _work_area(mask: Image.Image, margin: int) -> tuple[int, int, int, int] | None:
    """The mask's non-zero box plus ``margin``, clipped: outside it every step keeps 0."""
    bbox = mask.getbbox()
    if bbox is None:
        return None
    left, top, right, bottom = bbox
    return (max(0, left - margin), max(0, top - margin),
            min(mask.width, right + margin), min(mask.height, bottom + margin))


def _refined(mask: Image.Image) -> Image.Image:
    """Smooth the contour: blur the hard mask and re-threshold it (rounds jagged edges, closes
    pinholes, drops specks smaller than ~``REFINE_RADIUS``), then anti-alias the edge."""
    area = _work_area(mask, 3 * math.ceil(REFINE_RADIUS + REFINE_FEATHER) + 2)
    if area is None:
        return mask
    hard = mask.crop(area).point(_HARD)
    smooth = hard.filter(ImageFilter.GaussianBlur(REFINE_RADIUS)).point(_HARD)
    out = Image.new("L", mask.size, 0)
    out.paste(smooth.filter(ImageFilter.GaussianBlur(REFINE_FEATHER)), area[:2])
    return out


def _eroded(mask: Image.Image, size: int) -> Image.Image:
    """Erode the hard mask by ``size`` px (square), feather the result by ``size`` px, and
    keep it inside the original mask: the opaque core shrinks, the edge band turns partial."""
    area = _work_area(mask, 1)
    if area is None:
        return mask
    part = mask.crop(area)
    core = _erode_square(part.point(_HARD), size)
    soft = core.filter(ImageFilter.BoxBlur(size))
    out = Image.new("L", mask.size, 0)
    out.paste(ImageChops.multiply(soft, part), area[:2])  # feather inward only: never grows
    return out


_HARD = [0] * 128 + [255] * 128
_FULL = [0] * 255 + [255]
BOX_STEP = 127  # a window of <= 255 px: one hole keeps its mean below 255 even after rounding


def _erode_square(hard: Image.Image, size: int) -> Image.Image:
    """Binary erosion of a 0/255 mask by a (2·size+1)² square, exact and O(1) per pixel: a
    one-axis box mean is 255 only if no hole is in the window; squares compose, so larger sizes
    go in steps of ``BOX_STEP``. Blurs replicate the frame's edge pixels, so a subject cut by
    the frame is not eroded from there."""
    out = hard
    while size > 0:
        step = min(size, BOX_STEP)
        out = out.filter(ImageFilter.BoxBlur((step, 0))).point(_FULL)
        out = out.filter(ImageFilter.BoxBlur((0, step))).point(_FULL)
        size -= step
    return out


def _threshold_table(foreground: int, background: int) -> list[int]:
    """Alpha matting as a lookup: <= background -> 0, >= foreground -> 255, linear between."""
    table = []
    for v in range(256):
        if v <= background:
            table.append(0)
        elif v >= foreground:
            table.append(255)
        else:
            table.append(round((v - background) * 255 / (foreground - background)))
    return table


def _encoded(img: Image.Image, fmt: str, quality: int) -> Matted:
    if fmt == "PNG":
        data = imaging.encode(img, "PNG")
    else:
        if fmt == "JPEG" and img.mode == "RGBA":
            flat = Image.new("RGB", img.size, (255, 255, 255))
            flat.paste(img, mask=img.getchannel("A"))
            img = flat
        out = io.BytesIO()
        img.save(out, fmt, quality=quality, **WEBP_OPTIONS if fmt == "WEBP" else {})
        data = out.getvalue()
    return Matted(data, MIMES[fmt], img.width, img.height)
