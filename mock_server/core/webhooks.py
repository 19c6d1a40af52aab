"""Outbound callbacks on the mock clock: scheduled, retried, journaled, fenced by reset.

A provider hands the engine a :class:`Delivery` (URL, JSON body or raw bytes, method, headers)
through :meth:`Webhooks.on_finish`: a task listener that builds the delivery when the task ends
(or :meth:`Webhooks.schedule` directly). The first attempt starts at once (or ``webhook=delay``
later); a failed attempt (non-2xx, a transport error, a timeout) is retried after
``webhook_retries`` seconds of mock time (default 5, 30, 120; divided by ``--speed`` like every
provider duration). Every attempt goes on the shared :class:`Timeline` as an action that hands
back its running future, so a virtual clock advance returns only after the attempts it caused
were made, and the real-clock scheduler starts them on time without anybody polling (D110).

Bounds (D111): at most ``webhook_concurrency`` attempts in flight (the rest wait their turn),
at most ``webhook_queue`` deliveries pending (a delivery beyond it is journaled ``dropped``
and never sent), a per-attempt wall-clock timeout, a receiver's answer read up to
``ANSWER_BYTES``, and a journal of ``webhook_journal_size`` attempts. ``close()`` (reset) and
``stop()`` (shutdown) cancel every attempt in flight and send nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bgmock.server.core.clock import Clock
from bgmock.server.core.loops import call_in_loop
from bgmock.server.core.tasks import Listener, Task
from bgmock.server.core.timeline import Timeline

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

ANSWER_BYTES = 4096          # of a receiver's answer kept in the journal
OUTCOMES = ("delivered", "failed", "dropped", "refused")
USER_AGENT = "bgmock-webhooks"


@dataclass(frozen=True)
class WebhookSettings:
    """The engine's knobs (``Settings.webhook_*``)."""

    retries: tuple[float, ...] = (5.0, 30.0, 120.0)
    timeout: float = 5.0
    allowlist: tuple[str, ...] = ()       # empty: any host (the receiver is the user's app)
    concurrency: int = 16
    queue: int = 1000
    journal_size: int = 1000


@dataclass(frozen=True)
class WebhookFault:
    """A request's webhook directive (``X-Mock-Fault: webhook=...``)."""

    mode: str | None = None               # drop | duplicate | fail | delay
    delay: float = 0.0                    # mock seconds, with mode "delay"

    @classmethod
    def of(cls, fault: Any) -> WebhookFault:
        """The webhook directive of a request's ``core.faults.Fault``."""
        mode = getattr(fault, "webhook", None)
        return cls(mode, getattr(fault, "webhook_delay", 0.0)) if mode else NO_WEBHOOK_FAULT

    def describe(self) -> str | None:
        if self.mode is None:
            return None
        return f"delay={self.delay:g}" if self.mode == "delay" else self.mode


NO_WEBHOOK_FAULT = WebhookFault()


@dataclass(frozen=True)
class Delivery:
    """What to send: one callback, retried as one."""

    id: int
    provider: str
    task_id: str
    url: str
    body: Any                             # JSON value
    headers: tuple[tuple[str, str], ...]
    fault: WebhookFault = NO_WEBHOOK_FAULT
    redelivery_of: int | None = None      # the attempt id this one re-sends
    method: str = "POST"
    raw: bytes | None = None              # sent as they are instead of the JSON body

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(slots=True)
class Attempt:
    """One journal record: an attempt made, or a delivery that was never sent."""

    id: int
    delivery: int
    provider: str
    task_id: str
    url: str
    attempt: int
    scheduled_at: float
    sent_at: float | None
    outcome: str                          # one of OUTCOMES
    status: int | None = None             # the receiver's HTTP status
    error: str | None = None
    duration_ms: float | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    answer: str | None = None             # the receiver's body, cut at ANSWER_BYTES (T36)
    fault: str | None = None
    redelivery_of: int | None = None
    method: str = "POST"                  # raw bytes (a PUT) are not kept: journal bodies only

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "delivery": self.delivery, "provider": self.provider,
                "taskId": self.task_id, "url": self.url, "method": self.method,
                "attempt": self.attempt,
                "scheduledAt": self.scheduled_at, "sentAt": self.sent_at,
                "outcome": self.outcome, "status": self.status, "error": self.error,
                "durationMs": self.duration_ms, "body": self.body, "headers": self.headers,
                "answer": self.answer, "fault": self.fault,
                "redeliveryOf": self.redelivery_of}


Build = Callable[[Task], tuple[Any, dict[str, str]]]


class Webhooks:
    """The deliveries of one engine state; a reset makes a new one and closes this."""

    def __init__(self, clock: Clock, timeline: Timeline, settings: WebhookSettings) -> None:
        self.clock = clock
        self.timeline = timeline
        self.settings = settings
        self.closed = False
        self.pending = 0                  # deliveries not yet concluded (the queue)
        self.journal: OrderedDict[int, Attempt] = OrderedDict()
        self._delivery_ids = itertools.count(1)
        self._attempt_ids = itertools.count(1)
        self._running: set[asyncio.Future[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Semaphore | None = None
        self._client: asyncio.Future[httpx.AsyncClient] | None = None

    # --- what providers call -------------------------------------------------------------

    def on_finish(self, provider: str, url: str, build: Build,
                  fault: WebhookFault = NO_WEBHOOK_FAULT) -> Listener:
        """A task listener: when the task ends, ``build(task)`` gives the body and headers,
        and the delivery is scheduled. It holds this state's engine, so a task from before a
        reset never reaches the fresh one (and a closed one sends nothing)."""
        def finished(task: Task) -> None:
            body, headers = build(task)
            self.schedule(provider, task.id, url, body, headers, fault)

        with contextlib.suppress(RuntimeError):  # no loop: made at the first attempt
            self._ready(asyncio.get_running_loop())  # the client is made while the task runs
        return finished

    def schedule(self, provider: str, task_id: str, url: str, body: Any,
                 headers: dict[str, str], fault: WebhookFault = NO_WEBHOOK_FAULT, *,
                 method: str = "POST", raw: bytes | None = None) -> None:
        """One delivery: ``body`` as JSON, or ``raw`` bytes as they are (a PUT of a result
        file; the journal then shows ``body`` as a description of them)."""
        if self.closed:
            return
        delivery = Delivery(next(self._delivery_ids), provider, task_id, url, body,
                            tuple(headers.items()), fault, method=method, raw=raw)
        now = self.clock.now()
        refusal = self._refusal(url)
        if refusal is not None:
            self._record(delivery, 1, now, "refused", error=refusal)
        elif fault.mode == "drop":
            self._record(delivery, 1, now, "dropped", error="webhook=drop: never sent")
        elif self.pending >= self.settings.queue:
            self._record(delivery, 1, now, "dropped",
                         error=f"queue full ({self.settings.queue} deliveries pending)")
        else:
            self.pending += 1
            delay = self.clock.scaled(fault.delay) if fault.mode == "delay" else 0.0
            self._plan(delivery, 1, now + delay)

    async def redeliver(self, attempt_id: int) -> Attempt | None:
        """Send a journaled attempt's body and headers once more, now (one attempt, no
        retries); None when the id is not (or no longer) in the journal."""
        old = self.journal.get(attempt_id)
        if old is None or self.closed:
            return None
        delivery = Delivery(next(self._delivery_ids), old.provider, old.task_id, old.url,
                            old.body, tuple(old.headers.items()), redelivery_of=old.id,
                            method=old.method)
        refusal = self._refusal(old.url)
        if old.method != "POST":
            refusal = "the bytes of a PUT are not kept in the journal: nothing to send again"
        if refusal is not None:
            return self._record(delivery, 1, self.clock.now(), "refused", error=refusal)
        return await self._attempt(delivery, 1, self.clock.now(), retry=False)

    def entries(self, provider: str | None = None, task_id: str | None = None,
                status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Journal records, oldest first; ``status`` is an outcome or an HTTP status."""
        found = [a for a in self.journal.values()
                 if (provider is None or a.provider == provider)
                 and (task_id is None or a.task_id == task_id)
                 and (status is None or status in (a.outcome, str(a.status)))]
        return [a.snapshot() for a in (found[-limit:] if limit else found)]

    def close(self) -> None:
        """Fence this state off (reset) or stop (shutdown): nothing more is sent, attempts in
        flight are cancelled."""
        self.closed = True
        for future in list(self._running):
            call_in_loop(future.get_loop(), future.cancel)
        self._running.clear()

    # --- internals -----------------------------------------------------------------------

    def _refusal(self, url: str) -> str | None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return "not a valid URL"
        if parts.scheme not in ("http", "https") or not host:
            return "not an http(s) URL"
        if parts.path.startswith("/__admin"):  # a callback must not drive a mock's controls
            return "a bgmock admin API path (/__admin)"
        from bgmock.server.core.remote import host_allowed  # remote imports the engine

        allowlist = self.settings.allowlist
        if allowlist and not host_allowed(host, allowlist):
            return f"host {host[:100]!r} is not on webhook_allowlist"
        return None

    def _plan(self, delivery: Delivery, number: int, when: float) -> None:
        """Attempt ``number`` at mock time ``when``: now if it is due and a loop runs (the
        timeline then only hands its future to a clock advance), else on the timeline."""
        if when <= self.clock.now():
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                future = self._start(delivery, number, when)
                self.timeline.at(when, _still_running, future)
                return
        self.timeline.at(when, self._due, _Planned(delivery, number, when))

    def _due(self, planned: _Planned) -> asyncio.Future[Any] | None:
        """A timeline action: start the attempt; run again (a clock advance does so once the
        future it was handed is done), it only reports the attempt still running."""
        if planned.future is not None:
            return _still_running(planned.future)
        if self.closed:
            return None
        planned.future = self._start(planned.delivery, planned.number, planned.when)
        return planned.future

    def _start(self, delivery: Delivery, number: int, scheduled: float) -> asyncio.Future[Any]:
        future = asyncio.ensure_future(self._attempt(delivery, number, scheduled))
        self._running.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: asyncio.Future[Any]) -> None:
        self._running.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("webhook attempt failed", exc_info=future.exception())

    async def _prepare(self) -> tuple[asyncio.Semaphore, httpx.AsyncClient]:
        """The gate and client of the running loop (a test may serve the app from another).
        The client is made in a thread: importing httpx and loading CA certificates would
        stall the event loop for a noticeable time on the first callback."""
        gate, client = self._ready(asyncio.get_running_loop())
        return gate, await asyncio.shield(client)

    def _ready(self, loop: asyncio.AbstractEventLoop
               ) -> tuple[asyncio.Semaphore, asyncio.Future[httpx.AsyncClient]]:
        if self._loop is not loop or self._gate is None or self._client is None:
            self._loop = loop
            self._gate = asyncio.Semaphore(self.settings.concurrency)
            self._client = loop.run_in_executor(None, _new_client, self.settings)
        return self._gate, self._client

    async def _attempt(self, delivery: Delivery, number: int, scheduled: float,
                       retry: bool = True) -> Attempt | None:
        gate, client = await self._prepare()
        async with gate:
            if self.closed:
                return None
            fault = delivery.fault
            if fault.mode == "fail" and number == 1:
                record = self._record(delivery, number, scheduled, "failed",
                                      sent_at=self.clock.now(),
                                      error="webhook=fail: treated as failed, not sent")
            else:
                record = await self._send(client, delivery, number, scheduled)
                if fault.mode == "duplicate" and number == 1 and not self.closed:
                    await self._send(client, delivery, number, scheduled)
        if not retry:
            return record
        if record.outcome != "delivered" and number <= len(self.settings.retries):
            wait = self.clock.scaled(self.settings.retries[number - 1])
            self._plan(delivery, number + 1, self.clock.now() + wait)
        else:
            self.pending -= 1
        return record

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery, number: int,
                    scheduled: float) -> Attempt:
        import httpx

        sent_at, started = self.clock.now(), time.perf_counter()
        status, error, answer = None, None, None
        try:
            status, answer = await asyncio.wait_for(
                _post(client, delivery), timeout=self.settings.timeout)
        except TimeoutError:
            error = f"timeout after {self.settings.timeout:g} s"
        except httpx.TimeoutException:
            error = f"timeout after {self.settings.timeout:g} s"
        except Exception as exc:  # connection refused, a bad URL, a broken answer: a failure
            error = f"{type(exc).__name__}: {str(exc)[:200]}" if str(exc) else type(exc).__name__
        duration = round((time.perf_counter() - started) * 1000, 3)
        ok = status is not None and 200 <= status < 300
        if status is not None and not ok:
            error = f"HTTP {status}"
        return self._record(delivery, number, scheduled, "delivered" if ok else "failed",
                            sent_at=sent_at, status=status, error=error, duration_ms=duration,
                            answer=answer)

    def _record(self, delivery: Delivery, number: int, scheduled: float, outcome: str,
                **values: Any) -> Attempt:
        record = Attempt(next(self._attempt_ids), delivery.id, delivery.provider,
                         delivery.task_id, delivery.url, number, scheduled,
                         values.pop("sent_at", None), outcome, body=delivery.body,
                         headers=dict(delivery.headers), fault=delivery.fault.describe(),
                         redelivery_of=delivery.redelivery_of, method=delivery.method,
                         **values)
        self.journal[record.id] = record
        while len(self.journal) > self.settings.journal_size:
            self.journal.popitem(last=False)
        return record


@dataclass(slots=True)
class _Planned:
    """An attempt on the timeline, started once."""

    delivery: Delivery
    number: int
    when: float
    future: asyncio.Future[Any] | None = None


def _new_client(settings: WebhookSettings) -> httpx.AsyncClient:
    import httpx  # here, off the event loop: the server starts without it

    return httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=settings.timeout,
                             headers={"User-Agent": USER_AGENT},
                             limits=httpx.Limits(max_connections=settings.concurrency))


def _still_running(future: asyncio.Future[Any]) -> asyncio.Future[Any] | None:
    """A timeline action for an attempt already started: a clock advance waits for it."""
    return None if future.done() else future


async def _post(client: httpx.AsyncClient, delivery: Delivery) -> tuple[int, str]:
    headers = {"Content-Type": "application/json", **dict(delivery.headers)}
    async with client.stream(delivery.method, delivery.url, content=delivery.content(),
                             headers=headers) as response:
        kept = bytearray()
        async for chunk in response.aiter_bytes():
            kept += chunk[:ANSWER_BYTES - len(kept)]
            if len(kept) >= ANSWER_BYTES:
                break
        return response.status_code, kept.decode("utf-8", "replace")
