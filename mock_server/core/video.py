"""Real, playable H.264 MP4s from a still image: a short, slow pan/zoom (a Ken Burns shot).

Encoded in-process with PyAV (its wheel carries libx264), to memory, bytes in and bytes out, so
callers run :func:`pan_zoom_mp4` through ``imaging.offload`` like any other CPU work (the
function and its arguments are module-level and picklable). Deterministic: the same image and
:class:`Clip` give the same frames (x264 runs single-threaded, so the same bytes too).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from bgmock.server.core import compose, imaging
from PIL import Image

ZOOM = 0.12           # the shot ends 12 % closer than it starts
MAX_SIDE = 4096       # no provider asks for more; guards the encoder's memory
MAX_FRAMES = 600


@dataclass(frozen=True)
class Clip:
    """What to make: frame size (even numbers, as yuv420p needs), frame count and rate."""

    width: int
    height: int
    frames: int
    fps: int = 12

    def __post_init__(self) -> None:
        for side in (self.width, self.height):
            if not 16 <= side <= MAX_SIDE or side % 2:
                raise ValueError(f"frame side {side}: an even number in 16..{MAX_SIDE}")
        if not 1 <= self.frames <= MAX_FRAMES or not 1 <= self.fps <= 60:
            raise ValueError("frames in 1..600, fps in 1..60")

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


def frame_size(source: tuple[int, int], short_side: int) -> tuple[int, int]:
    """A frame of ``short_side`` lines (480p, 720p, 1080p) in the image's orientation: 9:16
    for a portrait image, 16:9 for a landscape one, square for a square one."""
    width, height = source
    long_side = (short_side * 16 // 9 + 1) // 2 * 2
    if width == height:
        return short_side, short_side
    return (short_side, long_side) if height > width else (long_side, short_side)


def _frames(img: Image.Image, clip: Clip) -> list[Image.Image]:
    """The pan/zoom: a window shrinking by :data:`ZOOM` while it drifts right and down."""
    base = compose.cover(img, clip.width, clip.height)
    out = []
    for i in range(clip.frames):
        t = i / max(1, clip.frames - 1)
        scale = 1.0 - ZOOM * t
        w, h = clip.width * scale, clip.height * scale
        left, top = (clip.width - w) * t, (clip.height - h) * t
        window = base.resize((clip.width, clip.height), Image.Resampling.BILINEAR,
                             box=(left, top, left + w, top + h))
        out.append(window)
    return out


def pan_zoom_mp4(image: bytes, clip: Clip, limits: imaging.Limits) -> bytes:
    """An H.264 (yuv420p) MP4 of ``clip`` made from an encoded image; raises ``imaging``'s
    errors for an image beyond ``limits`` or that cannot be decoded."""
    import av  # here, not at the top: PyAV takes ~0.1 s to import; start-up stays fast

    img = imaging.decode(image, limits)
    flat = Image.new("RGB", img.size, (0, 0, 0))
    flat.paste(img, mask=img.getchannel("A"))
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=clip.fps)
        stream.width, stream.height, stream.pix_fmt = clip.width, clip.height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28", "threads": "1"}
        for frame in _frames(flat, clip):
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def still_jpg(image: bytes, width: int, height: int, limits: imaging.Limits) -> bytes:
    """A JPG cover of ``width`` x ``height`` (the video's first frame, without the zoom)."""
    img = imaging.decode(image, limits)
    flat = Image.new("RGB", img.size, (0, 0, 0))
    flat.paste(img, mask=img.getchannel("A"))
    return imaging.encode(compose.cover(flat, width, height), "jpg")
