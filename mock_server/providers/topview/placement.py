"""Replace product image, the pixels: the cut-out placed into the avatar's or template's image.

Module-level functions with picklable arguments (bytes, tuples, frozen dataclasses), run through
``imaging.offload``. ``location`` is Topview's quad (T21): four normalised points, clockwise from
the left top, that may reach beyond the canvas while part of the shape is inside; the cut-out is
fitted (aspect kept) into the quad's box and centred on it, and what falls outside is cut (D131).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bgmock.server.core import imaging
from PIL import Image

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]
CLOSE_UP_MARGIN = 0.25     # the faceless result: the product's box plus a quarter each side


@dataclass(frozen=True)
class Rendered:
    """One result image: PNG bytes and their size."""

    png: bytes
    size: tuple[int, int]


def check_location(location: object) -> Quad | None:
    """The quad, or None when it is not one Topview accepts: its box has no area, its points
    are not clockwise from the left top, or no part of it lies on the canvas (T21)."""
    if not isinstance(location, list) or len(location) != 4:
        return None
    points = []
    for point in location:
        if (not isinstance(point, list) or len(point) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           for v in point)):
            return None
        points.append((float(point[0]), float(point[1])))
    (lt, rt, rb, lb) = points
    if not (lt[0] < rt[0] and lb[0] < rb[0] and lt[1] < lb[1] and rt[1] < rb[1]):
        return None
    left, top, right, bottom = _bounds(tuple(points))  # type: ignore[arg-type]
    if right <= 0 or bottom <= 0 or left >= 1 or top >= 1:
        return None  # nothing of it on the canvas
    return (lt, rt, rb, lb)


def auto_location(prompt: str) -> Quad:
    """Auto mode: where the product goes, from the prompt (deterministic, D131): a box in the
    lower middle of the frame, where a hand holding it would be, nudged by the prompt's hash."""
    nudge = hashlib.sha256(prompt.encode()).digest()
    dx, dy = (nudge[0] / 255 - 0.5) * 0.2, (nudge[1] / 255 - 0.5) * 0.1
    left, top, right, bottom = 0.3 + dx, 0.5 + dy, 0.7 + dx, 0.9 + dy
    return ((left, top), (right, top), (right, bottom), (left, bottom))


def _bounds(quad: Quad) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    return min(xs), min(ys), max(xs), max(ys)


def _place(canvas: Image.Image, cutout: Image.Image,
           quad: Quad) -> tuple[int, int, int, int]:
    """Paste ``cutout`` fitted into ``quad``'s box, clipped to the canvas; the pixel box it
    covers on the canvas."""
    width, height = canvas.size
    left, top, right, bottom = _bounds(quad)
    box = (max(0.0, left) * width, max(0.0, top) * height,
           min(1.0, right) * width, min(1.0, bottom) * height)
    box_w, box_h = max(1.0, box[2] - box[0]), max(1.0, box[3] - box[1])
    scale = min(box_w / cutout.width, box_h / cutout.height)
    size = (max(1, round(cutout.width * scale)), max(1, round(cutout.height * scale)))
    fitted = cutout.resize(size, Image.Resampling.LANCZOS)
    x = round(box[0] + (box_w - size[0]) / 2)
    y = round(box[1] + (box_h - size[1]) / 2)
    canvas.paste(fitted, (x, y), fitted.getchannel("A"))
    return x, y, min(width, x + size[0]), min(height, y + size[1])


def _close_up(img: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    """The product and a margin around it: the result without the avatar's face."""
    x0, y0, x1, y1 = box
    mx, my = round((x1 - x0) * CLOSE_UP_MARGIN), round((y1 - y0) * CLOSE_UP_MARGIN)
    return img.crop((max(0, x0 - mx), max(0, y0 - my),
                     min(img.width, x1 + mx), min(img.height, y1 + my)))


def replace_product(template: bytes, cutout: bytes, quad: Quad, close_up: bool,
                    limits: imaging.Limits) -> tuple[Rendered, ...]:
    """The composite (the face kept) and, with ``close_up``, the product close-up without it
    (manual mode's two results, T23). Raises ``imaging``'s errors for bad input."""
    scene = imaging.decode(template, limits)
    product = imaging.decode(cutout, limits)
    canvas = Image.new("RGB", scene.size, (255, 255, 255))
    canvas.paste(scene, mask=scene.getchannel("A"))
    box = _place(canvas, product, quad)
    images = [canvas] + ([_close_up(canvas, box)] if close_up else [])
    return tuple(Rendered(imaging.encode(img, "png"), img.size) for img in images)
