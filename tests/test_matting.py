"""core/matting: every knob has an observable effect on the decoded output image."""

from __future__ import annotations

import asyncio
import io
import pickle

import numpy as np
import pytest
from bgmock.server.core import imaging, matting
from bgmock.server.core.matting import Matting
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

LIMITS = imaging.Limits(max_bytes=20_000_000, max_pixels=20_000_000)
SUBJECT = (100, 60, 300, 340)  # the product's exact box in the 400 x 400 photo
PHOTO = imaging.encode(imaging.synthetic_product("matting", 400, 400, SUBJECT), "PNG")


def run(options: Matting, data: bytes = PHOTO) -> tuple[matting.Matted, Image.Image]:
    result = matting.remove_background(data, LIMITS, options)
    image = Image.open(io.BytesIO(result.data))
    image.load()
    assert (image.width, image.height) == (result.width, result.height)
    return result, image


def alpha(options: Matting, data: bytes = PHOTO) -> np.ndarray:
    _, image = run(options, data)
    return np.asarray(image.getchannel("A")).astype(int)


def partial(a: np.ndarray) -> int:
    return int(((a > 0) & (a < 255)).sum())


def test_default_is_the_plain_cut_out_on_the_full_frame() -> None:
    result, image = run(Matting())
    assert result.mime == "image/png" and image.format == "PNG" and image.mode == "RGBA"
    assert image.size == (400, 400)
    mask, _ = imaging.segment(imaging.pixels(PHOTO, LIMITS))
    assert image.getchannel("A").tobytes() == mask.tobytes()
    source = Image.open(io.BytesIO(PHOTO)).convert("RGB")
    assert image.convert("RGB").getpixel((200, 200)) == source.getpixel((200, 200))


def test_same_input_and_options_give_the_same_bytes() -> None:
    options = Matting(box=(120, 0, 400, 300), erode=7, alpha_matting=True, refine_edges=True,
                      foreground_threshold=200, background_threshold=30,
                      background=(1, 2, 3, 100), fmt="WEBP", quality=60, max_side=333)
    assert matting.remove_background(PHOTO, LIMITS, options) == \
        matting.remove_background(PHOTO, LIMITS, options)


def test_box_keeps_the_subject_only_inside_it() -> None:
    box = (50, 150, 250, 380)  # cuts the product's left-bottom part out of it
    a = alpha(Matting(box=box))
    outside = np.ones_like(a, dtype=bool)
    outside[box[1]:box[3], box[0]:box[2]] = False
    assert a[outside].max() == 0
    assert a[300, 200] == 255 and a[200, 150] == 255  # subject inside the box is kept
    assert a[100, 200] == 0  # subject outside the box is gone
    assert a[160, 60] == 0  # backdrop inside the box stays background


def test_box_is_in_input_pixels_when_the_image_is_downscaled() -> None:
    a = alpha(Matting(box=(50, 150, 250, 380), max_side=200))
    assert a.shape == (200, 200)
    assert a[:74, :].max() == 0 and a[:, 126:].max() == 0
    assert a[150, 100] == 255


def test_a_box_outside_the_image_leaves_nothing() -> None:
    assert alpha(Matting(box=(500, 500, 900, 900))).max() == 0


def test_erosion_shrinks_the_opaque_area_and_feathers_the_edge() -> None:
    plain = alpha(Matting())
    previous_opaque = int((plain == 255).sum())
    for size in (2, 5, 10, 20, 40):
        a = alpha(Matting(erode=size))
        opaque = int((a == 255).sum())
        assert opaque < previous_opaque, size
        assert partial(a) > partial(plain)
        assert (a <= plain).all()  # erosion never grows the subject
        previous_opaque = opaque
    a = alpha(Matting(erode=10))
    row = a[200, 100:160]  # across the left edge: a ramp, not a step
    assert row[0] == 0 and row[-1] == 255
    assert len({int(v) for v in row if 0 < v < 255}) >= 5
    assert (np.diff(row) >= 0).all()


def test_large_erosion_is_exact_beyond_one_blur_step() -> None:
    square = Image.new("RGB", (900, 900), (240, 240, 240))
    ImageDraw.Draw(square).rectangle((50, 50, 849, 849), fill=(30, 30, 90))
    a = alpha(Matting(erode=150), imaging.encode(square, "PNG"))
    # opaque only where the whole feather window lies in the core: 2 x 150 px in from the
    # edge the segmentation leaves (51..848)
    opaque = np.argwhere(a == 255)
    assert opaque.min(axis=0).tolist() == [351, 351]
    assert opaque.max(axis=0).tolist() == [548, 548]
    assert a[200, 450] > 0 and a[50, 450] == 0


def test_thresholds_narrow_the_partial_band_only_with_alpha_matting() -> None:
    counts = []
    for background, foreground in ((0, 255), (15, 240), (80, 180), (127, 128)):
        counts.append(partial(alpha(Matting(erode=10, alpha_matting=True,
                                            foreground_threshold=foreground,
                                            background_threshold=background))))
    assert counts[0] > counts[1] > counts[2] > counts[3] == 0
    ignored = Matting(erode=10, foreground_threshold=128, background_threshold=127)
    assert run(ignored)[0] == run(Matting(erode=10))[0]


def test_thresholds_snap_alpha_to_the_ends() -> None:
    plain = alpha(Matting(erode=10))
    a = alpha(Matting(erode=10, alpha_matting=True, foreground_threshold=200,
                      background_threshold=50))
    assert (a[plain >= 200] == 255).all() and (a[plain <= 50] == 0).all()


def jagged_photo() -> bytes:
    """A subject with saw-tooth edges, small specks around it and pinholes in it."""
    img = Image.new("RGB", (300, 300), (240, 240, 240))
    draw = ImageDraw.Draw(img)
    body = (40, 60, 120)
    draw.rectangle((80, 60, 220, 240), fill=body)
    for y in range(60, 240, 8):  # teeth along the left and right edges
        draw.rectangle((74, y, 79, y + 3), fill=body)
        draw.rectangle((221, y, 226, y + 3), fill=body)
    for x, y in ((20, 20), (270, 40), (30, 280)):
        draw.rectangle((x, y, x + 3, y + 3), fill=body)
    for x, y in ((150, 150), (120, 100)):
        img.putpixel((x, y), (240, 240, 240))
    return imaging.encode(img, "PNG")


def perimeter(a: np.ndarray) -> int:
    hard = a >= 128
    return int((hard[1:, :] != hard[:-1, :]).sum() + (hard[:, 1:] != hard[:, :-1]).sum())


def test_refined_edges_are_smoother_and_cleaner() -> None:
    photo = jagged_photo()
    plain, refined = alpha(Matting(), photo), alpha(Matting(refine_edges=True), photo)
    assert not (plain == refined).all()
    assert perimeter(refined) < 0.8 * perimeter(plain)
    assert plain[21, 21] > 0 and refined[21, 21] == 0  # speck dropped
    assert plain[150, 150] < 128 and refined[150, 150] == 255  # pinhole closed
    assert refined[150, 150:200].min() == 255  # the body stays


def test_only_mask_is_the_cut_outs_alpha() -> None:
    options = dict(box=(0, 100, 400, 400), erode=6, alpha_matting=True,
                   foreground_threshold=220, background_threshold=20)
    result, image = run(Matting(only_mask=True, **options))
    assert image.mode == "L" and result.mime == "image/png"
    assert image.tobytes() == run(Matting(**options))[1].getchannel("A").tobytes()
    _, jpeg = run(Matting(only_mask=True, fmt="JPEG", **options))
    assert jpeg.mode == "L"
    _, webp = run(Matting(only_mask=True, fmt="WEBP", quality=100, **options))
    grey = np.asarray(webp.convert("RGB")).astype(int)
    assert np.abs(grey[..., 0] - grey[..., 2]).max() <= 8
    expected = np.asarray(image).astype(int)
    assert np.abs(grey[..., 1] - expected).mean() < 3


def test_background_fills_behind_the_subject() -> None:
    fill = (10, 200, 30, 128)
    _, png = run(Matting(background=fill))
    assert png.mode == "RGBA" and png.getpixel((5, 5)) == fill
    assert png.getpixel((200, 200))[3] == 255  # the subject stays opaque
    _, opaque = run(Matting(background=(10, 200, 30, 255)))
    assert opaque.getpixel((390, 390)) == (10, 200, 30, 255)
    result, webp = run(Matting(background=fill, fmt="WEBP", quality=100))
    assert result.mime == "image/webp" and webp.mode == "RGBA"
    assert webp.getpixel((5, 5))[3] == 128
    assert all(abs(c - f) <= 4 for c, f in zip(webp.getpixel((5, 5))[:3], fill[:3], strict=True))
    _, jpeg = run(Matting(background=fill, fmt="JPEG"))
    # JPEG has no alpha: the half-transparent fill is flattened on white
    expected = [round((f * 128 + 255 * 127) / 255) for f in fill[:3]]
    assert jpeg.mode == "RGB"
    assert all(abs(c - e) <= 6 for c, e in zip(jpeg.getpixel((5, 5)), expected, strict=True))


def test_jpeg_has_no_alpha_and_quality_changes_the_size() -> None:
    result, image = run(Matting(fmt="JPEG"))
    assert result.mime == "image/jpeg" and image.format == "JPEG" and image.mode == "RGB"
    assert all(c >= 245 for c in image.getpixel((5, 5)))  # transparent -> white
    sizes = {fmt: [len(run(Matting(fmt=fmt, quality=q))[0].data) for q in (10, 50, 95)]
             for fmt in ("JPEG", "WEBP")}
    for fmt, (low, mid, high) in sizes.items():
        assert low < mid < high, fmt
    assert len(run(Matting(quality=10))[0].data) == len(run(Matting(quality=95))[0].data)


def test_max_side_caps_the_longer_side_and_keeps_the_aspect() -> None:
    wide = imaging.encode(imaging.synthetic_product("wide", 640, 360), "PNG")
    result, image = run(Matting(max_side=320), wide)
    assert (result.width, result.height) == image.size == (320, 180)
    result, image = run(Matting(max_side=1000, only_mask=True), wide)
    assert image.size == (640, 360)  # never upscaled
    result, _ = run(Matting(max_side=1), wide)
    assert (result.width, result.height) == (1, 1)


def test_reencode_caps_and_converts() -> None:
    result = matting.reencode(PHOTO, LIMITS, "JPEG", 100)
    image = Image.open(io.BytesIO(result.data))
    assert image.format == "JPEG" and image.size == (100, 100) == (result.width, result.height)
    assert result.mime == "image/jpeg"
    same = matting.reencode(PHOTO, LIMITS, "PNG", None)
    assert Image.open(io.BytesIO(same.data)).size == (400, 400)
    with pytest.raises(imaging.ImageDecodeError):
        matting.reencode(b"not an image", LIMITS, "PNG", None)
    with pytest.raises(matting.MattingOptionError):
        matting.reencode(PHOTO, LIMITS, "GIF", None)


def test_image_alpha_is_respected() -> None:
    rgba = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).ellipse((30, 30, 90, 90), fill=(200, 20, 20, 255))
    a = alpha(Matting(), imaging.encode(rgba, "PNG"))
    assert a[5, 5] == 0 and a[60, 60] == 255


def test_limits_and_bad_bytes_raise_the_image_errors() -> None:
    with pytest.raises(imaging.ImageTooLarge):
        matting.remove_background(PHOTO, imaging.Limits(1000, 10**9), Matting())
    with pytest.raises(imaging.ImageTooLarge):
        matting.remove_background(PHOTO, imaging.Limits(10**9, 1000), Matting())
    with pytest.raises(imaging.ImageDecodeError):
        matting.remove_background(b"\x89PNG garbage", LIMITS, Matting())


@pytest.mark.parametrize("bad", [
    {"fmt": "GIF"}, {"fmt": "png"}, {"erode": -1}, {"erode": 256}, {"quality": 0},
    {"quality": 101}, {"foreground_threshold": 256}, {"background_threshold": -1},
    {"max_side": 0}, {"box": (1, 2, 3)}, {"box": (1.5, 2, 3, 4)}, {"box": (0, 0, 10**400, 5)},
    {"box": (True, 0, 5, 5)}, {"background": (0, 0, 0)},
    {"background": (0, 0, 0, 300)}, {"erode": True},
])
def test_options_out_of_range_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(matting.MattingOptionError):
        Matting(**bad)  # type: ignore[arg-type]


def test_options_and_results_cross_process_boundaries() -> None:
    options = Matting(box=(1, 2, 3, 4), background=(1, 2, 3, 4), fmt="WEBP")
    assert pickle.loads(pickle.dumps(options)) == options
    result = matting.remove_background(PHOTO, LIMITS, Matting(max_side=50))
    assert pickle.loads(pickle.dumps(result)) == result


def test_runs_through_offload() -> None:
    result = asyncio.run(imaging.offload(matting.remove_background, PHOTO, LIMITS,
                                         Matting(only_mask=True, max_side=64)))
    assert (result.width, result.height) == (64, 64)


coordinate = st.integers(-50, 200) | st.sampled_from([-matting.MAX_COORDINATE,
                                                      matting.MAX_COORDINATE])
options_strategy = st.builds(
    Matting,
    box=st.none() | st.tuples(coordinate, coordinate, coordinate, coordinate),
    erode=st.integers(0, matting.MAX_ERODE),
    foreground_threshold=st.integers(0, 255),
    background_threshold=st.integers(0, 255),
    alpha_matting=st.booleans(),
    refine_edges=st.booleans(),
    only_mask=st.booleans(),
    background=st.none() | st.tuples(*[st.integers(0, 255)] * 4),
    fmt=st.sampled_from(matting.FORMATS),
    quality=st.integers(1, 100),
    max_side=st.none() | st.integers(1, 300),
)


def small_image(draw: st.DrawFn) -> bytes:
    width, height = draw(st.integers(1, 120)), draw(st.integers(1, 120))
    mode = draw(st.sampled_from(["RGB", "RGBA", "L", "P", "LA"]))
    if min(width, height) >= 20 and draw(st.booleans()):  # the drawing needs some room
        img = imaging.synthetic_product(draw(st.text(max_size=4)), width, height)
    else:
        img = Image.frombytes("RGB", (width, height),
                              draw(st.binary(min_size=width * height * 3,
                                             max_size=width * height * 3)))
    out = io.BytesIO()
    img.convert(mode).save(out, draw(st.sampled_from(["PNG", "WEBP", "GIF"]))
                           if mode in ("RGB", "RGBA", "L", "P") else "PNG")
    return out.getvalue()


@given(st.data(), options_strategy)
@settings(max_examples=120, deadline=None)
def test_any_options_give_an_image_or_an_image_error(data: st.DataObject,
                                                     options: Matting) -> None:
    raw = data.draw(st.one_of(st.composite(small_image)(), st.binary(max_size=64)))
    try:
        result = matting.remove_background(raw, LIMITS, options)
    except (imaging.ImageDecodeError, imaging.ImageTooLarge):
        return
    assert isinstance(result, matting.Matted)
    image = Image.open(io.BytesIO(result.data))
    assert image.size == (result.width, result.height)
    assert result.mime == matting.MIMES[options.fmt]
    if options.max_side is not None:
        assert max(image.size) <= options.max_side
