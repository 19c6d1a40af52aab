"""Module-level jobs for the imaging worker tests: they run in worker processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def span(seconds: float) -> tuple[int, float, float]:
    """(worker pid, start, end) of a job that holds its worker ``seconds``."""
    start = time.monotonic()
    time.sleep(seconds)
    return os.getpid(), start, time.monotonic()


def touch(path: str) -> None:
    Path(path).touch()


def blob(size: int) -> bytes:
    return bytes(range(256)) * (size // 256)


class Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickled with args (a,): cannot be rebuilt
        super().__init__(a)


def raise_unpicklable() -> None:
    raise Unpicklable(1, 2)


def announce_and_hold(path: str, seconds: float) -> None:
    Path(path).touch()
    time.sleep(seconds)
