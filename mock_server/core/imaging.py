"""Real image bytes, made deterministically and offline.

Limits are checked from the header before any pixel is decoded (decompression-bomb guard).
Segmentation is deliberately simple and repeatable: the background colour is the median of the
border pixels, the subject is what differs from it by more than a threshold (or what is opaque,
for images that already carry alpha), the edge is eroded by a pixel and feathered. Everything
here is CPU work: callers run it with :func:`offload`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bgmock.server.core import workers
from PIL import Image, ImageChops, ImageDraw, ImageFilter

Image.MAX_IMAGE_PIXELS = None  # we check limits ourselves, before decoding

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "bmp": "BMP"}
BACKGROUND_THRESHOLD = 48
FEATHER_MARGIN = 8  # px; BoxBlur(1) + GaussianBlur(0.8) reach 1 + 3 px


T = TypeVar("T")
WORKERS = workers.THREADS  # in process; ``bgmock serve`` runs one worker process per core


async def offload(fn: Callable[..., T], *args: Any) -> T:
    """Run CPU-heavy image work off the event loop: in a worker process under ``bgmock serve``,
    in a thread in process (:mod:`~bgmock.server.core.workers`, D30, D150).

    ``fn`` must be a module-level function (or a ``functools.partial`` of one) and ``args``,
    like the result, picklable. At most one job per worker runs at once; further jobs wait
    their turn holding only their encoded input, so peak memory is about one decoded image per
    worker however many requests arrive together. A worker that dies fails its job with
    :class:`ImageWorkerLost`, an :class:`ImageError` every caller already answers.
    """
    try:
        return await asyncio.wrap_future(workers.pool().submit(fn, args))
    except workers.WorkerLost as exc:
        raise ImageWorkerLost(str(exc)) from exc


WORKER_IMAGE_BLOCKS = 4  # Pillow blocks (<= 16 MB each) a worker keeps for the next job


def worker_setup() -> None:
    """In each imaging worker process: keep a few freed image blocks for the next job instead
    of handing them back and faulting fresh pages in again (~10 % of a 1024² cut-out's CPU);
    at most ``WORKER_IMAGE_BLOCKS`` x 16 MB stay allocated."""
    Image.core.set_blocks_max(WORKER_IMAGE_BLOCKS)


class ImageError(Exception):
    """Base for image problems a provider reports as its own error."""


class ImageDecodeError(ImageError):
    pass


class ImageTooLarge(ImageError):
    pass


class ImageWorkerLost(ImageError):
    """The process working on the image died (killed, out of memory) before it answered."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class Probe:
    format: str
    width: int
    height: int


def probe(data: bytes, limits: Limits) -> Probe:
    """Format and size from the header only; raises before anything large is decoded."""
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"image is {len(data)} bytes, limit {limits.max_bytes}")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format or "", img.size
    except Exception as exc:
        raise ImageDecodeError("image cannot be decoded") from exc
    if width * height > limits.max_pixels:
        raise ImageTooLarge(f"image is {width}x{height} px, limit {limits.max_pixels} px")
    return Probe(fmt, width, height)


def decode(data: bytes, limits: Limits) -> Image.Image:
    """RGBA pixels of an image within the limits."""
    img = pixels(data, limits)
    return img if img.mode == "RGBA" else img.convert("RGBA")


def pixels(data: bytes, limits: Limits) -> Image.Image:
    """The pixels of an image within the limits, as RGB when it decodes as RGB (no alpha to
    respect: :func:`segment` and :func:`cut_out` need no conversion), else as RGBA."""
    probe(data, limits)
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return img if img.mode == "RGB" else img.convert("RGBA")
    except Exception as exc:
        raise ImageDecodeError("image cannot be decoded") from exc


def _background_color(rgb: Image.Image) -> tuple[int, int, int]:
    """Median colour of the one-pixel border (per band, from histograms: no pixel loops)."""
    width, height = rgb.size
    rows = [rgb.crop((0, 0, width, 1)), rgb.crop((0, height - 1, width, height))]
    columns = [rgb.crop((0, 0, 1, height)).transpose(Image.Transpose.TRANSPOSE),
               rgb.crop((width - 1, 0, width, height)).transpose(Image.Transpose.TRANSPOSE)]
    border = Image.new("RGB", (2 * width + 2 * height, 1))
    x = 0
    for strip in (*rows, *columns):
        border.paste(strip, (x, 0))
        x += strip.width
    half = border.width / 2
    median = []
    for band in border.split():
        seen = 0
        for value, count in enumerate(band.histogram()):
            seen += count
            if seen >= half:
                median.append(value)
                break
    return median[0], median[1], median[2]


def segment(img: Image.Image) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Soft subject mask (mode L, image size) and the subject's bounding box (l, t, r, b)."""
    alpha = img.getchannel("A") if img.mode == "RGBA" else None
    if alpha is not None and alpha.getextrema()[0] < 250 \
            and sum(alpha.histogram()[:250]) > 0.01 * img.width * img.height:
        hard = alpha.point(lambda v: 255 if v >= 128 else 0)  # the image says what is background
    else:
        rgb = img if img.mode == "RGB" else img.convert("RGB")
        # Subject: some channel differs from the background's by more than the threshold. One
        # lookup table per band (|v - c| > threshold) and the bands' maximum: the same pixels
        # as thresholding the per-pixel maximum difference, without a background-sized image.
        table = [255 if abs(v - c) > BACKGROUND_THRESHOLD else 0
                 for c in _background_color(rgb) for v in range(256)]
        r, g, b = rgb.point(table).split()
        hard = ImageChops.lighter(ImageChops.lighter(r, g), b)
    bbox = hard.getbbox()
    if bbox is None:  # nothing stands out: the whole frame is the subject
        hard = Image.new("L", img.size, 255)
        bbox = (0, 0, *img.size)
    if min(img.size) < 8:
        return hard, bbox
    # Outside the subject's box the mask is 0 and stays 0: erode and feather only the box plus
    # a margin wider than both blurs (same pixels, a fraction of the work).
    left, top, right, bottom = bbox
    box = (max(0, left - FEATHER_MARGIN), max(0, top - FEATHER_MARGIN),
           min(img.width, right + FEATHER_MARGIN), min(img.height, bottom + FEATHER_MARGIN))
    part = hard.crop(box)
    eroded = part.filter(ImageFilter.BoxBlur(1)).point(lambda v: 255 if v >= 250 else 0)
    soft = eroded.filter(ImageFilter.GaussianBlur(0.8))
    mask = Image.new("L", img.size, 0)
    mask.paste(ImageChops.multiply(soft, part), box[:2])  # feather inward only: never grows
    return mask, bbox


def score(mask: Image.Image) -> float:
    """Matting confidence in [0, 1]: how decisive the mask is (few half-transparent pixels)."""
    box = mask.getbbox()  # outside it every pixel is 0: count them, do not histogram them
    histogram = mask.crop(box).histogram() if box else [0]
    total = mask.width * mask.height or 1
    undecided = sum(histogram[17:240]) / total
    return float(round(max(0.0, min(1.0, 0.95 - 4 * undecided)), 4))


@dataclass(frozen=True)
class Cutout:
    cropped: Image.Image      # RGBA, cropped to the subject
    mask: Image.Image         # L, original size
    bbox: tuple[int, int, int, int]
    score: float


def cut_out(img: Image.Image) -> Cutout:
    """The subject of an RGB or RGBA image, cropped, with the mask as its alpha."""
    mask, bbox = segment(img)
    cropped = img.crop(bbox)
    cropped.putalpha(mask.crop(bbox))  # RGB becomes RGBA
    return Cutout(cropped, mask, bbox, score(mask))


def on_background(cutout: Image.Image, color: tuple[int, int, int] | None) -> Image.Image:
    """Flatten an RGBA cut-out onto a colour (``None`` keeps transparency)."""
    if color is None:
        return cutout
    canvas = Image.new("RGB", cutout.size, color)
    canvas.paste(cutout, mask=cutout.getchannel("A"))
    return canvas


def fit(img: Image.Image, width: int, height: int, fill: tuple[int, ...]) -> Image.Image:
    """Scale to fit inside width x height, centred on a ``fill`` canvas of exactly that size."""
    scale = min(width / img.width, height / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    resized = img.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new(img.mode, (width, height), fill)
    offset = ((width - size[0]) // 2, (height - size[1]) // 2)
    if img.mode == "RGBA":
        canvas.alpha_composite(resized, offset)
    else:
        canvas.paste(resized, offset)
    return canvas


def encode(img: Image.Image, fmt: str) -> bytes:
    fmt = FORMATS.get(fmt.lower(), fmt.upper())
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=90)
    elif fmt == "PNG" and img.mode in PNG_COLOR_TYPES:
        return _png(img)
    elif fmt == "PNG":
        img.save(out, "PNG", compress_level=PNG_LEVEL)
    elif fmt == "WEBP":
        img.save(out, "WEBP", quality=90)
    else:
        img.save(out, fmt)
    return out.getvalue()


PNG_LEVEL = 3
PNG_COLOR_TYPES = {"L": 0, "RGB": 2, "RGBA": 6}


def _png(img: Image.Image) -> bytes:
    """The PNG of an L, RGB or RGBA image, every row "Up"-filtered: one numpy subtraction
    instead of Pillow's trial of five filters per row (a third of a 1024² cut-out's time)."""
    import numpy as np  # here: importing it costs the server ~0.1 s of start-up

    flat = np.asarray(img).reshape(img.height, -1)
    rows = np.empty((img.height, flat.shape[1] + 1), np.uint8)
    rows[:, 0] = 2  # filter type Up: each byte minus the one above it, modulo 256
    rows[0, 1:] = flat[0]
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])
    header = struct.pack(">IIBBBBB", img.width, img.height, 8, PNG_COLOR_TYPES[img.mode], 0, 0, 0)
    return b"".join((b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header),
                     _chunk(b"IDAT", zlib.compress(rows.data, PNG_LEVEL)), _chunk(b"IEND", b"")))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _palette(seed: str) -> list[tuple[int, int, int]]:
    digest = hashlib.sha256(seed.encode()).digest()
    return [tuple(int(c) for c in digest[i:i + 3]) for i in range(0, 30, 3)]  # type: ignore[misc]


def synthetic_product(seed: str, width: int = 800, height: int = 800,
                      subject: tuple[int, int, int, int] | None = None) -> Image.Image:
    """A repeatable 'product photo': a bottle-like object on a light, plain backdrop.

    ``subject`` is the object's exact bounding box (l, t, r, b; right/bottom exclusive);
    by default a centred box of about 45 % x 75 % of the frame.
    """
    colors = _palette(seed)
    light = tuple(225 + c % 31 for c in colors[0])
    img = Image.new("RGB", (width, height), light)
    if subject is None:
        w, h = max(1, int(width * 0.45)), max(1, int(height * 0.75))
        left, top = (width - w) // 2, (height - h) // 2
        subject = (left, top, left + w, top + h)
    left, top, right, bottom = subject
    # Product colours stay >= 65 levels below the lightest possible backdrop channel (225), so
    # every product pixel stands out from the backdrop by more than the segmentation threshold.
    body = tuple(30 + c % 120 for c in colors[1])
    accent = tuple(40 + c % 120 for c in colors[2])
    draw = ImageDraw.Draw(img)
    w, h = right - left, bottom - top
    neck = max(1, w // 3)
    cap_bottom = top + max(1, h // 6)
    radius = max(0, min(w, h) // 8)
    neck_left = left + (w - neck) // 2
    draw.rectangle((neck_left, top, neck_left + neck - 1, cap_bottom), fill=accent)
    draw.rounded_rectangle((left, cap_bottom, right - 1, bottom - 1), radius=radius, fill=body)
    draw.rectangle((left, cap_bottom + h // 3, right - 1, cap_bottom + h // 3 + max(1, h // 6)),
                   fill=accent)
    return img
