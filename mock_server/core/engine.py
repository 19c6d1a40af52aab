"""All mutable state of one mock, in one object that ``reset`` rebuilds."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mock_server.core.accounts import Accounts
from mock_server.core.clock import Clock
from mock_server.core.faults import Faults
from mock_server.core.files import CloudFrontSign, FileStore, OssSign, S3Presign, new_secret
from mock_server.core.ids import Ids
from mock_server.core.imaging import Limits
from mock_server.core.journal import Journal
from mock_server.core.ratelimit import RateLimiter
from mock_server.core.scheduler import Scheduler
from mock_server.core.tasks import TaskEngine
from mock_server.core.timeline import Timeline
from mock_server.core.urlregistry import RemoteUrls
from mock_server.settings import Settings


class Engine:
    def __init__(self, settings: Settings, providers: list[Any]) -> None:
        self.settings = settings
        self.providers = providers
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
            self.cloudfront_origins.update(getattr(provider, "cloudfront_origins", {}))
        self.reset(keep_clock=True)

    def reset(self, keep_clock: bool = False) -> None:
        """Back to the fresh state: empty stores, default accounts, the docs' fixtures. Work
        started before is fenced off: its tasks' work is cancelled, they never finish or tell
        a listener, and the old scheduler stops (decision D93)."""
        if hasattr(self, "tasks"):
            self.scheduler.close()
            self.tasks.close()
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
