"""The official Runware SDK's user flow, shared by tests/test_runware_sdk.py and the container
test: a product photo on disk, the SDK connected to the mock's socket, the decoded result
checked to be a real cut-out.

The SDK reads its timers from the environment when it is first imported; import it through
this module so the getResponse fallback polls every 50 ms instead of every second.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from PIL import Image

os.environ.setdefault("RUNWARE_IMAGE_POLLING_DELAY", "50")     # getResponse fallback, ms

from runware import (  # after its timers are set
    IImageBackgroundRemoval,
    Runware,
    RunwareAPIError,
)

__all__ = [
    "DEMO_KEY",
    "Runware",
    "RunwareAPIError",
    "product_photo",
    "removal",
    "remove",
    "run",
    "transparent_png",
    "with_sdk",
]
DEMO_KEY = "runware-demo-key"


def product_photo(path: Path) -> Path:
    """A product photo as a user has it on disk: a red box on a plain light background."""
    image = Image.new("RGB", (160, 120), (236, 236, 236))
    image.paste((200, 30, 40), (50, 30, 110, 90))
    image.save(path, "JPEG", quality=95)
    return path


def transparent_png(data: bytes) -> Image.Image:
    """``data`` is a PNG cut-out of :func:`product_photo`: transparent background, opaque
    subject."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.mode == "RGBA", (image.format, image.mode)
    alpha = image.getchannel("A")
    assert alpha.getextrema() == (0, 255)
    assert alpha.getpixel((5, 5)) == 0 and alpha.getpixel((80, 60)) == 255
    return image


def removal(path: Path | str, **fields: Any) -> IImageBackgroundRemoval:
    return IImageBackgroundRemoval(inputImage=str(path), outputFormat="PNG", **fields)


async def with_sdk(url: str, work: Callable[[Runware], Awaitable[Any]],
                   key: str = DEMO_KEY) -> Any:
    """Connect the SDK to ``url`` (the mock's ``ws://…/runware/v1``), run ``work``, disconnect."""
    rw = Runware(api_key=key, url=url)
    await rw.connect()
    try:
        return await work(rw)
    finally:
        await rw.disconnect()


def run(url: str, work: Callable[[Runware], Awaitable[Any]], key: str = DEMO_KEY,
        timeout: float = 60) -> Any:
    return asyncio.run(asyncio.wait_for(with_sdk(url, work, key), timeout))


def remove(url: str, path: Path | str, **fields: Any) -> Any:
    """One ``imageBackgroundRemoval`` through the SDK; its result list."""
    async def work(rw: Runware) -> Any:
        return await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(
            path, **fields))

    return run(url, work)
