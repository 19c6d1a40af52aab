"""Topview product background: composites per second at 1024 x 1024 (``1:1``), in process.

``product_background.render`` (decode the cut-out and the template, cover-fit, perspective
placement, PNG encode; or the prompt scene instead of the template) is what a task runs in the
imaging pool, so its rate on one core is the server's ceiling per imaging worker. Timed for a
few seconds per mode, wall clock and CPU of this thread; JSON on stdout.

    .venv/bin/python -m bench.compose [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from bgmock.server.core import compose, imaging
from bgmock.server.providers.topview import product_background

LOCATION: compose.Quad = ((0.26, 0.17), (0.74, 0.17), (0.74, 0.83), (0.26, 0.83))
LIMITS = imaging.Limits(1 << 30, 1 << 30)


def inputs() -> tuple[bytes, bytes]:
    """A 528 x 720 RGBA cut-out (as remove background makes) and a 1024 x 1024 template."""
    photo = imaging.synthetic_product("bench", 720, 720, (96, 0, 624, 720))
    cutout = imaging.encode(imaging.cut_out(photo).cropped, "png")
    template = imaging.encode(imaging.synthetic_product("template", 1024, 1024), "jpg")
    return cutout, template


def measure(mode: str, seconds: float, cutout: bytes, template: bytes) -> dict[str, float]:
    size = compose.canvas_size("1:1")
    background = template if mode == "image" else None
    product_background.render(cutout, background, "prompt:warm-up", size, LOCATION, LIMITS)
    count, wall0, cpu0 = 0, time.perf_counter(), time.thread_time()
    while time.perf_counter() - wall0 < seconds and count < 10_000:
        product_background.render(cutout, background, f"prompt:{count}", size, LOCATION, LIMITS)
        count += 1
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    return {"composites": count, "per_second": round(count / wall, 2),
            "ms_cpu_each": round(1000 * cpu / count, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    cutout, template = inputs()
    report = {"machine": platform.platform(), "python": platform.python_version(),
              "size": "1024x1024",
              **{mode: measure(mode, args.seconds, cutout, template)
                 for mode in ("image", "prompt")}}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
