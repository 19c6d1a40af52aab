"""Imaging: limits before decoding, deterministic segmentation, real encodings."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib

import pytest
from bgmock.server.core import imaging
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

LIMITS = imaging.Limits(max_bytes=5_000_000, max_pixels=4_000_000)


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a decompression bomb's opening)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_pixel_limit_is_checked_from_the_header() -> None:
    bomb = _png_header_claiming(50_000, 50_000)
    with pytest.raises(imaging.ImageTooLarge):
        imaging.decode(bomb, LIMITS)


def test_byte_limit_is_checked_first() -> None:
    with pytest.raises(imaging.ImageTooLarge):
        imaging.probe(b"\0" * (LIMITS.max_bytes + 1), LIMITS)


@given(st.binary(max_size=512))
@settings(max_examples=200, deadline=None)
def test_arbitrary_bytes_never_crash_the_decoder(data: bytes) -> None:
    with contextlib.suppress(imaging.ImageError):
        imaging.decode(data, LIMITS)


def test_cut_out_finds_the_subject_exactly() -> None:
    photo = imaging.synthetic_product("seed", 640, 480, (200, 60, 440, 420))
    cut = imaging.cut_out(photo)
    assert cut.bbox == (200, 60, 440, 420)
    assert cut.cropped.size == (240, 360) and cut.mask.size == (640, 480)
    assert cut.mask.getpixel((5, 5)) == 0 and cut.mask.getpixel((320, 240)) == 255
    assert 0 <= cut.score <= 1


@given(st.text(max_size=20), st.integers(120, 900), st.integers(120, 900))
@settings(max_examples=40, deadline=None)
def test_synthetic_products_segment_exactly_without_holes(seed: str, width: int,
                                                          height: int) -> None:
    box = (width // 4, height // 8, width - width // 4, height - height // 8)
    cut = imaging.cut_out(imaging.synthetic_product(seed, width, height, box))
    assert cut.bbox == box
    hard = cut.mask.point(lambda v: 255 if v > 0 else 0)
    w, h = box[2] - box[0], box[3] - box[1]
    radius = min(w, h) // 8
    body_top = box[1] + h // 6 + 1
    straight = (box[0], body_top + radius, box[2], box[3] - radius)  # the body, corners aside
    assert hard.crop(straight).getextrema() == (255, 255), "the product body has no holes"


def test_existing_alpha_is_respected() -> None:
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    image.paste((250, 250, 250, 255), (20, 30, 70, 90))       # white subject, clear backdrop
    assert imaging.cut_out(image).bbox == (20, 30, 70, 90)


def test_plain_frame_is_all_subject() -> None:
    assert imaging.cut_out(Image.new("RGBA", (64, 32), (9, 9, 9, 255))).bbox == (0, 0, 64, 32)


def test_segmentation_is_deterministic() -> None:
    photo = imaging.synthetic_product("same", 300, 300)
    first, second = imaging.cut_out(photo), imaging.cut_out(photo.copy())
    assert first.mask.tobytes() == second.mask.tobytes()
    assert imaging.encode(first.cropped, "png") == imaging.encode(second.cropped, "png")


@pytest.mark.parametrize(("fmt", "pil", "mode"), [("png", "PNG", "RGBA"), ("jpg", "JPEG", "RGB"),
                                                  ("webp", "WEBP", "RGBA")])
def test_encodings_are_real(fmt: str, pil: str, mode: str) -> None:
    cut = imaging.cut_out(imaging.synthetic_product("enc", 200, 200)).cropped
    decoded = Image.open(io.BytesIO(imaging.encode(cut, fmt)))
    assert decoded.format == pil and decoded.mode == mode and decoded.size == cut.size


def test_flatten_and_fit() -> None:
    cut = imaging.cut_out(imaging.synthetic_product("fit", 300, 200)).cropped
    white = imaging.on_background(cut, (255, 255, 255))
    assert white.mode == "RGB"
    fitted = imaging.fit(cut, 100, 100, (0, 0, 0, 0))
    assert fitted.size == (100, 100) and fitted.getpixel((0, 0))[3] == 0


def _full_frame_mask(img: Image.Image) -> Image.Image:
    """The segmentation's mask computed over the whole frame, the simple way."""
    from PIL import ImageChops, ImageFilter

    rgb = img.convert("RGB")
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size,
                                                imaging._background_color(rgb)))
    r, g, b = diff.split()
    distance = ImageChops.lighter(ImageChops.lighter(r, g), b)
    hard = distance.point(lambda v: 255 if v > imaging.BACKGROUND_THRESHOLD else 0)
    eroded = hard.filter(ImageFilter.BoxBlur(1)).point(lambda v: 255 if v >= 250 else 0)
    return ImageChops.multiply(eroded.filter(ImageFilter.GaussianBlur(0.8)), hard)


@given(st.text(max_size=10), st.integers(16, 300), st.integers(16, 300),
       st.integers(0, 40), st.integers(0, 40))
@settings(max_examples=40, deadline=None)
def test_mask_feathered_in_the_box_equals_the_full_frame_mask(seed: str, width: int,
                                                              height: int, dx: int,
                                                              dy: int) -> None:
    left, top = min(dx, width // 3), min(dy, height // 3)
    img = imaging.synthetic_product(seed, width, height,
                                    (left, top, width - width // 4, height - height // 5))
    mask, _ = imaging.segment(img.convert("RGBA"))
    assert mask.tobytes() == _full_frame_mask(img).tobytes()
