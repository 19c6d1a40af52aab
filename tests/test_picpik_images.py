"""PICPIK's knobs, each with an effect on the real output image (K10, D183, D184), checked on
decoded bytes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.picpik_calls import PRODUCT, PicpikApi, picpik

__all__ = ["picpik"]

WIDTH, HEIGHT = PRODUCT.size


def alpha(image: Image.Image) -> np.ndarray:
    assert image.mode == "RGBA" and image.size == PRODUCT.size
    return np.asarray(image.getchannel("A"))


def cut(picpik: PicpikApi, **knobs) -> np.ndarray:
    return alpha(picpik.result(picpik.submit(**knobs)))


def test_the_default_cut_out_keeps_the_subject_and_clears_the_background(picpik) -> None:
    a = cut(picpik)
    assert a[HEIGHT // 2, WIDTH // 2] == 255           # the subject, opaque
    assert a[2, 2] == 0 and a[-3, -3] == 0             # the background, transparent


def test_box_restricts_the_subject_to_it(picpik: PicpikApi) -> None:
    box = [120, 90, 200, 150]                          # a part of the subject only
    a = cut(picpik, Box=box, ErodeSize=0)
    x1, y1, x2, y2 = box
    outside = a.copy()
    outside[y1:y2, x1:x2] = 0
    assert outside.max() == 0                          # nothing outside the Box
    full = cut(picpik, ErodeSize=0)
    assert np.array_equal(a[y1:y2, x1:x2], full[y1:y2, x1:x2])  # inside it: as without Box
    assert (a == 255).sum() > 1000 and (full == 255).sum() > (a == 255).sum() * 2


def test_a_box_past_the_image_edge_ends_at_it(picpik: PicpikApi) -> None:
    a = cut(picpik, Box=[0, 0, 5000, 5000], ErodeSize=0)
    assert np.array_equal(a, cut(picpik, ErodeSize=0))


def test_only_mask_is_really_a_mask(picpik: PicpikApi) -> None:
    image = picpik.result(picpik.submit(OnlyMask=True, ErodeSize=0))
    assert image.mode == "L" and image.size == PRODUCT.size
    mask = np.asarray(image)
    assert mask[HEIGHT // 2, WIDTH // 2] == 255 and mask[2, 2] == 0
    assert np.array_equal(mask, cut(picpik, ErodeSize=0))   # the cut-out's alpha, exactly


def test_erosion_is_visible(picpik: PicpikApi) -> None:
    none, some, most = (cut(picpik, ErodeSize=n) for n in (0, 10, 30))
    opaque = [(a == 255).sum() for a in (none, some, most)]
    assert opaque[0] > opaque[1] > opaque[2] > 0       # the opaque core shrinks
    assert ((none > 0) & (none < 255)).sum() < ((some > 0) & (some < 255)).sum()  # edge softens
    widest = cut(picpik, ErodeSize=40)
    assert (widest > 0).sum() < (most > 0).sum() < (none > 0).sum()  # never grows


def test_thresholds_shape_alpha(picpik: PicpikApi) -> None:
    soft = cut(picpik, ErodeSize=20, ForegroundThreshold=255, BackgroundThreshold=0)
    assert ((soft > 0) & (soft < 255)).sum() > 100     # a feathered edge
    hard = cut(picpik, ErodeSize=20, ForegroundThreshold=128, BackgroundThreshold=127)
    assert set(np.unique(hard)) <= {0, 255}            # thresholds met: no partial alpha
    low = cut(picpik, ErodeSize=20, ForegroundThreshold=10, BackgroundThreshold=0)
    high = cut(picpik, ErodeSize=20, ForegroundThreshold=255, BackgroundThreshold=245)
    assert (low == 255).sum() > (soft == 255).sum()    # a low ForegroundThreshold: more opaque
    assert (high > 0).sum() < (soft > 0).sum()         # a high BackgroundThreshold: more clear


def test_hair_optimization_on_refines_the_edge(picpik: PicpikApi) -> None:
    off = cut(picpik, HairOptimization="off")
    assert np.array_equal(off, cut(picpik, HairOptimization="auto"))  # auto = off (D184)
    assert not np.array_equal(off, cut(picpik, HairOptimization="on"))


def test_anime_makes_the_mask_hard_edged(picpik: PicpikApi) -> None:
    general = cut(picpik, ErodeSize=15, RemoveType="General")
    anime = cut(picpik, ErodeSize=15, RemoveType="Anime")
    assert ((general > 0) & (general < 255)).sum() > 0
    assert set(np.unique(anime)) <= {0, 255}           # D184: flat art, binary alpha


@pytest.mark.parametrize("only_mask", [False, True])
def test_the_batch_applies_the_knobs_to_every_image(picpik: PicpikApi, only_mask) -> None:
    from tests.picpik_calls import RAW

    body = picpik.ok("RemoveBackgroundsInBatch", RawImages=[RAW, RAW], OnlyMask=only_mask,
                     ErodeSize=0)
    picpik.controls.advance(10)
    modes = {picpik.image(d["ImgList"][0]).mode for d in picpik.details(*body["TaskUIDList"])}
    assert modes == {"L" if only_mask else "RGBA"}
