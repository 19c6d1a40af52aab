"""What every provider client shares: the error base class, credentials, polling.

- :class:`ProviderError`: a provider's error, with the provider's own ``code`` (a string) and
  ``message``, and the HTTP ``status`` when one was involved.
- :func:`credential`: an argument, else an environment variable, else :class:`MissingCredentials`.
- :func:`poll` / :func:`apoll`: call ``fetch()`` until ``done(state)``, sleeping with exponential
  backoff between calls, and raise :class:`PollTimeout` (a :class:`TimeoutError`) once the time
  budget is spent. ``sleep`` and ``clock`` are injectable, so tests never really sleep: the time
  spent is taken as at least the sum of the sleeps, so a fake ``sleep`` still runs out the budget.

Sync and async without two copies: what a client does is written once, as a *flow* - a
generator that yields the steps needing I/O (an ``httpx.Request`` to send, a :class:`Sleep`, a
:class:`Blocking` call such as reading a file) and gets each one's outcome back. The provider's
shared base builds requests and parses answers in its flows; :class:`SyncHTTP` and
:class:`AsyncHTTP` only perform the steps (:meth:`SyncHTTP._run`, :meth:`AsyncHTTP._run`), so a
provider's sync and async classes hold nothing but one-line methods that run a flow.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Self, TypeVar
from xml.etree import ElementTree

import httpx

T = TypeVar("T")

__all__ = [
    "Backoff",
    "Blocking",
    "Flow",
    "MissingCredentials",
    "PollTimeout",
    "ProviderError",
    "Sleep",
    "apoll",
    "arun",
    "credential",
    "poll",
    "polling",
    "run",
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


# --- flows: a client's logic once, its I/O twice ------------------------------------------


@dataclass(frozen=True)
class Sleep:
    """A pause in a flow: slept by a sync client, awaited by an async one."""

    seconds: float


@dataclass(frozen=True)
class Blocking:
    """A call that may block (reading a file): an async client runs it in a thread."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()


class _Fetch:
    """The step :func:`poll` and :func:`apoll` answer with their ``fetch()``."""


Step = httpx.Request | Sleep | Blocking | _Fetch
Flow = Generator[Step, Any, T]


def _advance(flow: Flow[T], outcome: Any) -> tuple[bool, Any]:
    """Send ``outcome`` in: ``(False, next step)``, or ``(True, the flow's value)``."""
    try:
        return False, flow.send(outcome)
    except StopIteration as end:
        return True, end.value


def run(flow: Flow[T], perform: Callable[[Step], Any]) -> T:
    """Drive ``flow`` to its end, answering each step with ``perform(step)``."""
    done, item = _advance(flow, None)
    while not done:
        done, item = _advance(flow, perform(item))
    return item


async def arun(flow: Flow[T], perform: Callable[[Step], Awaitable[Any]]) -> T:
    """:func:`run` with an async ``perform``."""
    done, item = _advance(flow, None)
    while not done:
        done, item = _advance(flow, await perform(item))
    return item


def polling(
    fetch: Callable[[], Flow[T]],
    done: Callable[[T], bool],
    *,
    timeout: float | None,
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Flow[T]:
    """The flow of :func:`poll`: run ``fetch()`` until ``done(state)``, with :class:`Sleep`
    steps between; :class:`PollTimeout` once the budget is spent."""
    budget = _Budget(timeout, clock)
    for delay in (backoff or Backoff()).delays():
        state = yield from fetch()
        if done(state):
            return state
        yield Sleep(budget.next_pause(delay, state))
    raise AssertionError("unreachable")  # pragma: no cover


def _fetched() -> Flow[Any]:
    return (yield _Fetch())


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
    flow = polling(_fetched, done, timeout=timeout, backoff=backoff, clock=clock)
    return run(flow, lambda step: sleep(step.seconds) if isinstance(step, Sleep) else fetch())


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
    flow = polling(_fetched, done, timeout=timeout, backoff=backoff, clock=clock)
    return await arun(flow, lambda step: sleep(step.seconds) if isinstance(step, Sleep)
                      else fetch())


class _OwnsHTTP:
    """Owns or borrows an httpx client: one made here (with ``transport``) is closed by
    ``close``; one given as ``http_client`` is used as it is and left open."""

    _client_class: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]

    def _open_http(self, timeout: float, transport: Any, http_client: Any) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass transport= or http_client=, not both")
        self._owns_http = http_client is None
        self.http = http_client or self._client_class(transport=transport, timeout=timeout)


class SyncHTTP(_OwnsHTTP):
    """Runs flows over an ``httpx.Client``."""

    _client_class = httpx.Client
    http: httpx.Client

    def _run(self, flow: Flow[T], sleep: Callable[[float], object] | None = None) -> T:
        """Perform a flow's steps: send, sleep (``sleep`` or :func:`time.sleep`), call."""
        return run(flow, partial(self._perform, sleep or time.sleep))

    def _perform(self, sleep: Callable[[float], object], step: Step) -> Any:
        if isinstance(step, httpx.Request):
            return self.http.send(step)
        if isinstance(step, Sleep):
            return sleep(step.seconds)
        assert isinstance(step, Blocking), step
        return step.fn(*step.args)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncHTTP(_OwnsHTTP):
    """Runs flows over an ``httpx.AsyncClient``."""

    _client_class = httpx.AsyncClient
    http: httpx.AsyncClient

    async def _run(self, flow: Flow[T],
                   sleep: Callable[[float], Awaitable[object]] | None = None) -> T:
        """Perform a flow's steps: send, sleep (``sleep`` or :func:`asyncio.sleep`), call in a
        thread."""
        return await arun(flow, partial(self._perform, sleep or asyncio.sleep))

    async def _perform(self, sleep: Callable[[float], Awaitable[object]], step: Step) -> Any:
        if isinstance(step, httpx.Request):
            return await self.http.send(step)
        if isinstance(step, Sleep):
            return await sleep(step.seconds)
        assert isinstance(step, Blocking), step
        return await asyncio.to_thread(step.fn, *step.args)

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
