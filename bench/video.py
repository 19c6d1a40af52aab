"""image2Video: seconds of CPU per video, per mode (``python -m bench.video [--runs N]``).

Times ``image_to_video.render_video`` (the finished MP4, its cover JPG and the preview MP4: what
one image2Video task encodes in an ``imaging.offload`` worker) in this process's CPU time, on a
720x1280 portrait (the avatars' size) and a 720x720 square (the docs' template), median of
``--runs`` (default 3). Frames per video: ``image_to_video.FRAMES`` (D134).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bgmock.server.core import imaging
from bgmock.server.providers.topview import avatars, image_to_video

LIMITS = imaging.Limits(1 << 28, 1 << 26)
SOURCES = {
    "720x1280": avatars.avatar_png(avatars.AVATARS[0].avatar_id),
    "720x720": imaging.encode(imaging.synthetic_product("bench", 720, 720), "png"),
}


def cpu_seconds(image: bytes, mode: str, runs: int) -> tuple[float, int]:
    """Median CPU seconds of one rendition, and the video's size in bytes."""
    times, size = [], 0
    for _ in range(runs):
        start = time.process_time()
        rendition = image_to_video.render_video(image, mode, LIMITS)
        times.append(time.process_time() - start)
        size = len(rendition.video)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.video", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    print(f"image2Video CPU s per video ({image_to_video.FRAMES} frames at "
          f"{image_to_video.FPS} fps + cover + 1 s 360p preview), median of {runs}")
    print(f"{'mode':<12} {'lines':>5} " + " ".join(f"{name:>18}" for name in SOURCES))
    for mode, lines in image_to_video.VIDEO_LINES.items():
        cells = []
        for image in SOURCES.values():
            seconds, size = cpu_seconds(image, mode, runs)
            cells.append(f"{seconds:7.2f} s {size / 1024:6.0f} KB")
        print(f"{mode:<12} {lines:>5} " + " ".join(f"{c:>18}" for c in cells))


if __name__ == "__main__":
    main()
