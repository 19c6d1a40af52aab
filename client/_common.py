"""What every provider client shares: the error base class, credentials, polling.

- :class:`ProviderError`: a provider's error, with the provider's own ``code`` (a string) and
  ``message``, and the HTTP ``status`` when one was involved.
- :func:`credential`: an argument, else an environment variable, else :class:`MissingCredentials`.
- :func:`poll` / :func:`apoll`: call ``fetch()`` until ``done(state)``, sleeping with exponential
  backoff between calls, and raise :class:`PollTimeout` (a :class:`TimeoutError`) once the time
  budget is spent. ``sleep`` and ``clock`` are injectable, so tests never really sleep: the time
  spent is taken as at least the sum of the sleeps, so a fake ``sleep`` still runs out the budget.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar
from xml.etree import ElementTree

import httpx

T = TypeVar("T")

__all__ = [
    "Backoff",
    "MissingCredentials",
    "PollTimeout",
    "ProviderError",
    "apoll",
    "credential",
    "poll",
]


class ProviderError(Exception):
    """An error answer from a provider (or its storage), as the provider reports it."""

    provider: ClassVar[str] = ""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.status = status

    def __str__(self) -> str:
        who = f"{self.provider} " if self.provider else ""
        return f"{who}error {self.code}: {self.message}"


class MissingCredentials(ValueError):
    """A credential was neither passed nor set in the environment."""


def credential(
    value: str | None, env_var: str, *, what: str, env: Mapping[str, str] | None = None
) -> str:
    """``value`` if given, else ``$env_var``; empty counts as missing."""
    if value:
        return value
    found = (os.environ if env is None else env).get(env_var, "")
    if found:
        return found
    raise MissingCredentials(f"no {what}: pass it to the client or set ${env_var}")


class PollTimeout(TimeoutError):
    """The polled state did not become terminal in time; ``last`` is the last state seen."""

    def __init__(self, message: str, *, last: Any, elapsed: float) -> None:
        super().__init__(message)
        self.last = last
        self.elapsed = elapsed


@dataclass(frozen=True)
class Backoff:
    """Wait ``interval``, then ``factor`` times longer each time, at most ``max_interval``."""

    interval: float = 3.0
    max_interval: float = 30.0
    factor: float = 1.5

    def __post_init__(self) -> None:
        if not self.interval > 0:
            raise ValueError("interval must be > 0")
        if not self.max_interval >= self.interval:
            raise ValueError("max_interval must be >= interval")
        if not self.factor >= 1:
            raise ValueError("backoff factor must be >= 1")

    def delays(self) -> Iterator[float]:
        delay = self.interval
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_interval)


class _Budget:
    """Time left, counting at least the time slept (so an injected ``sleep`` still counts)."""

    def __init__(self, timeout: float | None, clock: Callable[[], float]) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be >= 0")
        self.timeout, self.clock = timeout, clock
        self.start, self.slept = clock(), 0.0

    @property
    def elapsed(self) -> float:
        return max(self.clock() - self.start, self.slept)

    def next_pause(self, delay: float, last: Any) -> float:
        """How long to sleep before the next call; raises once nothing is left."""
        if self.timeout is None:
            pause = delay
        else:
            left = self.timeout - self.elapsed
            if left <= 0:
                raise PollTimeout(
                    f"not finished after {self.elapsed:g}s; last state: {last!r}",
                    last=last,
                    elapsed=self.elapsed,
                )
            pause = min(delay, left)
        self.slept += pause
        return pause


def poll(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float | None,
    backoff: Backoff | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``fetch()`` until ``done(state)``; returns that state. ``timeout=None`` waits forever.

    The last sleep is cut short at the deadline and followed by one last ``fetch()``.
    """
    budget = _Budget(timeout, clock)
    for delay in (backoff or Backoff()).delays():
        state = fetch()
        if done(state):
            return state
        sleep(budget.next_pause(delay, state))
    raise AssertionError("unreachable")  # pragma: no cover


async def apoll(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float | None,
    backoff: Backoff | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """:func:`poll` for coroutines: ``fetch`` and ``sleep`` are awaited."""
    budget = _Budget(timeout, clock)
    for delay in (backoff or Backoff()).delays():
        state = await fetch()
        if done(state):
            return state
        await sleep(budget.next_pause(delay, state))
    raise AssertionError("unreachable")  # pragma: no cover


class SyncHTTP:
    """Owns or borrows an ``httpx.Client``: one made here (with ``transport``) is closed by
    :meth:`close`; one given as ``http_client`` is used as it is and left open."""

    http: httpx.Client

    def _open_http(self, timeout: float, transport: httpx.BaseTransport | None,
                   http_client: httpx.Client | None) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass transport= or http_client=, not both")
        self._owns_http = http_client is None
        self.http = http_client or httpx.Client(transport=transport, timeout=timeout)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncHTTP:
    """:class:`SyncHTTP` for ``httpx.AsyncClient``."""

    http: httpx.AsyncClient

    def _open_http(self, timeout: float, transport: httpx.AsyncBaseTransport | None,
                   http_client: httpx.AsyncClient | None) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass transport= or http_client=, not both")
        self._owns_http = http_client is None
        self.http = http_client or httpx.AsyncClient(transport=transport, timeout=timeout)

    async def close(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def gist(response: httpx.Response) -> str:
    """A short, readable excerpt of an answer for error messages."""
    text = response.text.strip()
    return text[:200] if text else response.reason_phrase


def storage_error(response: httpx.Response) -> tuple[str | None, str]:
    """``(Code, Message)`` of a refused upload or download: S3, CloudFront and OSS answer XML
    ``<Error><Code>..</Code><Message>..</Message></Error>``; without it, ``(None, gist)``."""
    code, message = None, gist(response)
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        return code, message
    return root.findtext("Code") or None, root.findtext("Message") or message
