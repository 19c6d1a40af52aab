"""What a check gets: its target and provider, reference clients wired to the observing
transport and the right credentials, a deterministic product photo, the clock (virtual on a
mock, real live), ``expect`` helpers that fail with a readable diff, and the live budget."""

from __future__ import annotations

import asyncio
import difflib
import inspect
import io
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from typing import Any, TypeVar

import httpx
from bgmock.check.admin import AsyncAdmin
from bgmock.check.model import CheckFailed, Skipped
from bgmock.check.observe import Exchange, ObservingTransport, Sink
from bgmock.check.targets import Target

C = TypeVar("C")
E = TypeVar("E", bound=BaseException)

MAX_SIDE = 4096      # image() sizes are ranged: a check never asks for a huge photo
LIVE_SLEEP_CAP = 60.0  # one live pause at most (a client's backoff stays sane)


class Context:
    """One check's view of one provider on one target. ``exchanges``: every exchange so far
    (redacted); ``calls``: how many."""

    def __init__(self, target: Target, provider: str, sinks: Iterable[Sink] = ()) -> None:
        self.target = target
        self.provider = provider
        self.exchanges: list[Exchange] = []
        self.paid = 0
        self.observer = ObservingTransport(
            target.transport(), [self.exchanges.append, *sinks], provider=provider,
            root_path=target.root_path(provider))
        self._clients: list[Any] = []
        self._mock_now: float | None = None
        self._synced_at = 0.0
        self._http: httpx.AsyncClient | None = None

    # --- what a check reaches ------------------------------------------------------------

    @property
    def calls(self) -> int:
        return len(self.exchanges)

    @property
    def is_mock(self) -> bool:
        return self.target.is_mock

    @property
    def admin(self) -> AsyncAdmin:
        """The mock's admin API; :class:`Skipped` on the live API."""
        admin = self.target.admin
        if admin is None:
            raise Skipped("mock only: needs the admin API")
        return admin

    def require_mock(self, why: str) -> None:
        """Skip on the live API: ``mock only: <why>`` (``why``: "needs fault rules")."""
        if not self.is_mock:
            raise Skipped(f"mock only: {why}")

    def base_url(self) -> str:
        return self.target.base_url(self.provider)

    def websocket_url(self) -> str:
        url = self.target.websocket_url(self.provider)
        if url is None:
            raise Skipped(f"{self.target.kind}: no WebSocket endpoint for {self.provider} "
                          f"(in-process has no socket)")
        return url

    def credentials(self) -> dict[str, Any]:
        return self.target.credentials(self.provider)

    def client(self, cls: Callable[..., C], **kw: Any) -> C:
        """``cls`` (a provider's async reference client) with the target's base URL and
        credentials, over the observing transport; ``kw`` overrides any of them. A client that
        takes a ``clock`` (Aidge signs timestamps) gets the mock's clock on a mock."""
        args: dict[str, Any] = {**self.credentials(), "base_url": self.base_url(),
                                "transport": self.observer}
        if "clock" in inspect.signature(cls).parameters and self.is_mock:
            args["clock"] = self.clock
        args.update(kw)
        client = cls(**args)
        self._clients.append(client)
        return client

    @property
    def http(self) -> httpx.AsyncClient:
        """A raw client rooted at the provider (for requests no reference client makes: a
        missing field, a bad signature); observed like the rest."""
        if self._http is None:
            self._http = httpx.AsyncClient(transport=self.observer, base_url=self.base_url(),
                                           timeout=60)
        return self._http

    # --- time ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.is_mock:
            await self.sync_clock()

    async def sync_clock(self) -> float:
        self._mock_now = await self.admin.now()
        self._synced_at = time.monotonic()
        return self._mock_now

    def clock(self) -> float:
        """Epoch seconds as the target sees them: the mock's clock (as last synced, plus real
        time since), the real clock live."""
        if self._mock_now is None:
            return time.time()
        return self._mock_now + (time.monotonic() - self._synced_at)

    async def sleep(self, seconds: float) -> None:
        """The ``sleep`` to give a client's ``wait()``: on a mock it advances the mock clock
        (tasks move on; nobody really waits), live it sleeps (at most a minute a time)."""
        seconds = max(0.0, float(seconds))
        if self.is_mock:
            await self.admin.advance(seconds)
            await self.sync_clock()
        else:
            await asyncio.sleep(min(seconds, LIVE_SLEEP_CAP))

    async def finish(self, seconds: float = 600.0) -> None:
        """Let the tasks submitted so far finish: on a mock, advance its clock ``seconds``;
        live, nothing (a check polls with ``client.wait(..., sleep=ctx.sleep)``)."""
        if self.is_mock:
            await self.sleep(seconds)

    # --- live budget -----------------------------------------------------------------------

    def spend(self, calls: int = 1) -> None:
        """Count ``calls`` paid calls before making them; live, past the budget:
        ``Skipped("live budget spent")``."""
        target = self.target
        if target.budget is not None:
            if target.spent + calls > target.budget:
                raise Skipped("live budget spent")
            target.spent += calls
        self.paid += calls

    # --- inputs ----------------------------------------------------------------------------

    @staticmethod
    def image(size: tuple[int, int] = (320, 240), fmt: str = "PNG") -> bytes:
        """A deterministic product photo (a subject on a plain background), ``fmt`` PNG or
        JPEG; sides 16..4096."""
        width, height = size
        if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE):
            raise ValueError(f"image size must be 16..{MAX_SIDE} a side, got {size}")
        if fmt.upper() not in ("PNG", "JPEG", "JPG", "WEBP"):
            raise ValueError(f"image format must be PNG, JPEG or WEBP, got {fmt!r}")
        return _photo(width, height, "JPEG" if fmt.upper() == "JPG" else fmt.upper())

    # --- expectations ----------------------------------------------------------------------

    @staticmethod
    def fail(message: str, expected: Any = None, actual: Any = None) -> CheckFailed:
        return CheckFailed(message, diff(expected, actual))

    def expect(self, actual: Any, expected: Any, what: str) -> None:
        """``actual == expected``, else :class:`CheckFailed` with the diff."""
        if actual != expected:
            raise self.fail(f"{what}: expected {_short(expected)}, got {_short(actual)}",
                            expected, actual)

    def expect_true(self, condition: object, what: str, detail: Any = None) -> None:
        if not condition:
            raise CheckFailed(what, "" if detail is None else _short(detail, 2000))

    def expect_in(self, actual: Any, allowed: Iterable[Any], what: str) -> None:
        allowed = list(allowed)
        if actual not in allowed:
            raise self.fail(f"{what}: {_short(actual)} not one of {_short(allowed)}",
                            allowed, actual)

    async def expect_error(self, call: Awaitable[Any], error: type[E], what: str,
                           **attrs: Any) -> E:
        """``call`` raises ``error`` whose attributes equal ``attrs`` (``code="4001"``);
        returns it. Anything else: :class:`CheckFailed`."""
        try:
            value = await call
        except error as exc:
            got = {name: getattr(exc, name, None) for name in attrs}
            if got != attrs:
                raise self.fail(f"{what}: {error.__name__} with {_short(attrs)}, got "
                                f"{_short(got)} ({exc})", attrs, got) from exc
            return exc
        except Exception as exc:
            raise CheckFailed(f"{what}: expected {error.__name__}, got "
                              f"{type(exc).__name__}: {exc}") from exc
        raise CheckFailed(f"{what}: expected {error.__name__}, the call returned "
                          f"{_short(value)}")

    # --- end -------------------------------------------------------------------------------

    async def close(self) -> None:
        for client in self._clients:
            close = getattr(client, "close", None)
            if close is not None:
                result = close()
                if inspect.isawaitable(result):
                    await result
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> Context:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _lines(value: Any) -> list[str]:
    try:
        text = json.dumps(value, indent=2, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text.splitlines()


def diff(expected: Any, actual: Any) -> str:
    """A unified diff of two values as indented JSON ("" when both are ``None``)."""
    if expected is None and actual is None:
        return ""
    return "\n".join(difflib.unified_diff(_lines(expected), _lines(actual), "expected",
                                          "actual", lineterm=""))


@cache
def _photo(width: int, height: int, fmt: str) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (236, 236, 232))
    draw = ImageDraw.Draw(img)
    w, h = width, height
    draw.rounded_rectangle((w * 0.3, h * 0.2, w * 0.7, h * 0.85), radius=max(2, w // 20),
                           fill=(180, 40, 50))
    draw.ellipse((w * 0.4, h * 0.1, w * 0.6, h * 0.3), fill=(40, 60, 160))
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()
