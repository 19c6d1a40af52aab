"""All mutable state of one mock, in one object that ``reset`` rebuilds."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from bgmock.server.core.accounts import Accounts
from bgmock.server.core.clock import Clock
from bgmock.server.core.faults import Faults
from bgmock.server.core.files import CloudFrontSign, FileStore, OssSign, S3Presign, new_secret
from bgmock.server.core.ids import Ids
from bgmock.server.core.imaging import Limits
from bgmock.server.core.journal import Journal
from bgmock.server.core.ratelimit import RateLimiter
from bgmock.server.core.scheduler import Scheduler
from bgmock.server.core.sessions import ParkedFrames, SocketHub
from bgmock.server.core.tasks import TaskEngine
from bgmock.server.core.timeline import Timeline
from bgmock.server.core.urlregistry import RemoteUrls
from bgmock.server.core.webhooks import Webhooks, WebhookSettings
from bgmock.server.settings import Settings

if TYPE_CHECKING:
    from bgmock.server.core.provider import Provider


class Engine:
    def __init__(self, settings: Settings, providers: Sequence[Provider]) -> None:
        self.settings = settings
        self.providers = list(providers)
        names = {p.name for p in providers}
        unknown = sorted(set(settings.accounts) - names, key=str)
        if unknown:
            raise ValueError(f"accounts.{unknown[0]}: unknown provider "
                             f"(known: {', '.join(sorted(names))})")
        self.stopping = False  # the server is shutting down (see stop())
        self._pauses: set[asyncio.Future[None]] = set()
        self.clock = Clock(settings.clock, settings.speed)
        # Per start when unseeded; kept across resets so a URL handed out keeps verifying (D61).
        secret = new_secret(settings.seed) if settings.seed is not None \
            else secrets.token_bytes(32)
        self.s3 = S3Presign(secret)
        self.cloudfront = CloudFrontSign(secret)
        self.oss = OssSign(secret)
        self.image_limits = Limits(settings.max_image_bytes, settings.max_image_pixels)
        # Every provider's real host names (a request under one gets URLs to the mock, D65).
        self.provider_hosts = frozenset(host for p in providers for host in p.hosts)
        # CloudFront distribution -> the bucket behind it, as each provider declares.
        self.cloudfront_origins: dict[str, str] = {}
        for provider in providers:
            self.cloudfront_origins.update(provider.cloudfront_origins)
        self.sockets = SocketHub()  # open WebSockets: they outlive a reset (D205)
        self.reset(keep_clock=True)

    def reset(self, keep_clock: bool = False) -> None:
        """Back to the fresh state: empty stores, default accounts, the docs' fixtures. Work
        started before is fenced off: its tasks' work is cancelled, they never finish or tell
        a listener, and the old scheduler stops (decision D93)."""
        if hasattr(self, "tasks"):
            self.scheduler.close()
            self.tasks.close()
            self.webhooks.close()  # pending callbacks dropped, attempts in flight cancelled
        if not keep_clock:
            self.clock = Clock(self.settings.clock, self.settings.speed)
        self.timeline = Timeline()  # task ends and record lifetimes on the mock clock
        self.scheduler = Scheduler(self.clock, self.timeline)
        self.ids = Ids(self.settings.seed)
        self.accounts = Accounts()
        self.files = FileStore(self.clock, self.settings.max_stored_bytes, self.timeline)
        self.tasks = TaskEngine(self.clock, instant=self.settings.instant,
                                timeline=self.timeline)
        self.faults = Faults(self.settings.seed)
        self.remote = RemoteUrls()  # registered remote URLs (D66)
        self.journal = Journal(self.settings.journal_size)
        self.rates = RateLimiter(self.clock)
        self.webhooks = Webhooks(self.clock, self.timeline, webhook_settings(self.settings))
        self.parked = ParkedFrames(self.clock, self.timeline)  # answers kept for a resume
        self.state: dict[str, Any] = {}
        for provider in self.providers:
            self.state[provider.name] = provider.fresh_state()
            provider.seed(self)

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """The app's lifespan: the scheduler's timer runs while the app is served."""
        self.scheduler.resume()
        try:
            yield
        finally:
            self.scheduler.pause()

    async def pause(self, seconds: float) -> None:
        """An injected delay (``X-Mock-Fault: delay``), cut short when the server stops."""
        if self.stopping or seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _finish, done)
        self._pauses.add(done)
        try:
            await done
        finally:
            timer.cancel()
            self._pauses.discard(done)

    def stop(self) -> None:
        """The server is shutting down: end every injected delay now, start no new one."""
        self.stopping = True
        for done in list(self._pauses):
            done.get_loop().call_soon_threadsafe(_finish, done)
        self.webhooks.close()  # a slow receiver never holds the shutdown


def webhook_settings(settings: Settings) -> WebhookSettings:
    return WebhookSettings(settings.webhook_retries, settings.webhook_timeout,
                           settings.webhook_allowlist, settings.webhook_concurrency,
                           settings.webhook_queue, settings.webhook_journal_size)


def _finish(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
