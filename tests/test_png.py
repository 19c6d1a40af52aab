"""The numpy PNG writer (D151): any L, RGB or RGBA image comes back pixel for pixel, and the
cheaper decode/segment/cut-out paths give what the simple ones gave."""

from __future__ import annotations

import io

from bgmock.server.core import imaging
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

BANDS = {"L": 1, "RGB": 3, "RGBA": 4}


@given(st.sampled_from(sorted(BANDS)), st.integers(1, 40), st.integers(1, 40), st.data())
@settings(max_examples=120, deadline=None)
def test_png_round_trips_exactly(mode: str, width: int, height: int, data: st.DataObject) -> None:
    raw = data.draw(st.binary(min_size=width * height * BANDS[mode],
                              max_size=width * height * BANDS[mode]))
    image = Image.frombytes(mode, (width, height), raw)
    decoded = Image.open(io.BytesIO(imaging.encode(image, "png")))
    assert decoded.format == "PNG" and decoded.mode == mode and decoded.size == (width, height)
    assert decoded.tobytes() == raw


def test_other_modes_still_encode_through_pillow() -> None:
    image = imaging.synthetic_product("p", 50, 40).convert("P")
    decoded = Image.open(io.BytesIO(imaging.encode(image, "png")))
    assert decoded.size == (50, 40) and decoded.convert("RGB").tobytes() == \
        image.convert("RGB").tobytes()


@given(st.text(max_size=8), st.integers(16, 200), st.integers(16, 200),
       st.sampled_from(["RGB", "RGBA", "P", "L"]))
@settings(max_examples=40, deadline=None)
def test_cut_out_of_pixels_equals_cut_out_of_rgba(seed: str, width: int, height: int,
                                                 mode: str) -> None:
    photo = imaging.synthetic_product(seed, width, height).convert(mode)
    out = io.BytesIO()
    photo.save(out, "PNG")
    limits = imaging.Limits(10**8, 10**8)
    fast = imaging.cut_out(imaging.pixels(out.getvalue(), limits))
    simple = imaging.cut_out(imaging.decode(out.getvalue(), limits))
    assert fast.bbox == simple.bbox and fast.score == simple.score
    assert fast.mask.tobytes() == simple.mask.tobytes()
    assert fast.cropped.mode == simple.cropped.mode == "RGBA"
    assert fast.cropped.tobytes() == simple.cropped.tobytes()
