"""Calling into an event loop from wherever: the mock's loop, a test client's, a server thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def call_in_loop(loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> None:
    """Run ``callback`` on ``loop``: at once when it is this thread's running loop, else
    thread-safely soon; nothing when the loop is closed."""
    if loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback()
    else:
        loop.call_soon_threadsafe(callback)
