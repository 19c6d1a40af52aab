"""Composites: a cut-out placed on a background at a four-point location, and the backgrounds.

Provider-neutral and pure (Pillow + NumPy, no state): every function takes and returns plain
values, so providers call them inside ``imaging.offload`` from their own module-level
functions. Product background (Topview AnyShoot) uses :func:`place`, :func:`cover` and
:func:`scene`; replace-product-image composites can use the same :func:`place`.

A location is a :data:`Quad`: four ``(x, y)`` points, normalised to the canvas (0..1 on each
axis; they may lie outside as long as part of the shape is inside), in the order left-top,
right-top, right-bottom, left-bottom. :func:`place` maps the cut-out's four corners exactly onto
those points (a perspective warp; for an axis-aligned rectangle that is a plain resize), so
whoever picks the points picks the product's size and proportions.
"""

from __future__ import annotations

import hashlib
import math

from PIL import Image, ImageDraw, ImageFilter

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]

# Longest side 1024 px; the other from the ratio, rounded to a multiple of 8.
RATIOS: dict[str, tuple[int, int]] = {"1:1": (1, 1), "9:16": (9, 16), "3:4": (3, 4),
                                      "4:3": (4, 3), "16:9": (16, 9)}
LONG_SIDE = 1024


def canvas_size(ratio: str, long_side: int = LONG_SIDE) -> tuple[int, int]:
    """Width and height for an ``"w:h"`` aspect ratio (one of :data:`RATIOS`)."""
    w, h = RATIOS[ratio]
    if w >= h:
        return long_side, max(8, round(long_side * h / w / 8) * 8)
    return max(8, round(long_side * w / h / 8) * 8), long_side


def quad_problem(quad: Quad) -> str | None:
    """Why ``quad`` is no usable location, or None: finite, and its bounding box overlapping
    the unit square. Corners given in another order simply map the cut-out that way (a
    right-top left of the left-top mirrors it); a shape without area draws nothing."""
    if not all(math.isfinite(v) for point in quad for v in point):
        return "coordinates must be finite"
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    if max(xs) <= 0 or min(xs) >= 1 or max(ys) <= 0 or min(ys) >= 1:
        return "the shape lies entirely outside the image"
    return None


def _perspective(source: Quad, target: Quad) -> tuple[float, ...]:
    """Pillow's PERSPECTIVE coefficients mapping points of ``target`` back to ``source``."""
    import numpy as np  # here: start-up stays fast (numpy costs ~0.1 s to import)

    rows, values = [], []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    solved = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(values, dtype=np.float64))
    return tuple(float(c) for c in solved)


def place(canvas: Image.Image, cutout: Image.Image, quad: Quad) -> Image.Image:
    """``canvas`` (any mode) with the RGBA ``cutout`` warped onto ``quad`` (normalised points,
    see the module doc) and alpha-composited; parts outside the canvas are clipped. Returns a
    new RGBA image of the canvas's size; neither input is changed."""
    out = canvas.convert("RGBA")
    width, height = out.size
    points = tuple((x * width, y * height) for x, y in quad)
    left = max(0, math.floor(min(p[0] for p in points)))
    top = max(0, math.floor(min(p[1] for p in points)))
    right = min(width, math.ceil(max(p[0] for p in points)))
    bottom = min(height, math.ceil(max(p[1] for p in points)))
    if right <= left or bottom <= top:
        return out
    cw, ch = cutout.size
    corners: Quad = ((0.0, 0.0), (float(cw), 0.0), (float(cw), float(ch)), (0.0, float(ch)))
    local = tuple((x - left, y - top) for x, y in points)
    try:
        coefficients = _perspective(corners, local)  # type: ignore[arg-type]
    except ValueError:  # numpy's LinAlgError: three points on a line, nothing sensible to draw
        return out
    warped = cutout.convert("RGBA").transform(
        (right - left, bottom - top), Image.Transform.PERSPECTIVE, coefficients,
        Image.Resampling.BICUBIC, fillcolor=(0, 0, 0, 0))
    out.alpha_composite(warped, (left, top))
    return out


def cover(img: Image.Image, width: int, height: int) -> Image.Image:
    """Scale ``img`` to cover ``width`` x ``height`` and crop the overflow, centred."""
    scale = max(width / img.width, height / img.height)
    size = (max(width, round(img.width * scale)), max(height, round(img.height * scale)))
    resized = img.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return resized.crop((left, top, left + width, top + height))


def _colour(digest: bytes, at: int, low: int, span: int) -> tuple[int, int, int]:
    return (low + digest[at] % span, low + digest[at + 1] % span, low + digest[at + 2] % span)


def scene(seed: str, width: int, height: int) -> Image.Image:
    """A repeatable backdrop for ``seed`` (a prompt, a template id): a soft vertical gradient,
    a floor band and a few blurred light shapes, all from the seed's SHA-256. RGB."""
    import numpy as np  # here: start-up stays fast

    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    top, bottom = _colour(digest, 0, 150, 100), _colour(digest, 3, 110, 120)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    gradient = (np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t)
    pixels = np.broadcast_to(gradient, (height, width, 3)).astype(np.uint8)
    img = Image.fromarray(pixels, "RGB")
    # Shapes drawn and blurred at a quarter of the size (a blur hides the scaling), on a
    # transparent layer of the backdrop's own colour so the blur leaves no dark fringe.
    small = (max(1, width // 4), max(1, height // 4))
    shapes = Image.new("RGBA", small, (*top, 0))
    draw = ImageDraw.Draw(shapes)
    for i in range(4):
        x, y = digest[8 + 2 * i] / 255 * small[0], digest[9 + 2 * i] / 255 * small[1] * 0.6
        r = (0.08 + digest[16 + i] / 255 * 0.2) * min(small)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(*_colour(digest, 20 + i, 190, 60), 90))
    floor = round(small[1] * (0.68 + digest[24] / 255 * 0.12))
    draw.rectangle((0, floor, small[0], small[1]), fill=(*_colour(digest, 25, 90, 100), 110))
    blurred = shapes.filter(ImageFilter.GaussianBlur(max(1.0, min(small) / 40)))
    layer = blurred.resize((width, height), Image.Resampling.BILINEAR)
    img.paste(layer, (0, 0), layer)
    return img
