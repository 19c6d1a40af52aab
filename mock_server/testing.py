"""Helpers for driving the mock from tests: in-process (no socket) or on a real port.

- :class:`SyncASGITransport`: an ``httpx`` transport that answers sync clients from the ASGI
  app, on one event loop that lives in a background thread (so tasks' background work keeps
  running between requests).
- :class:`MockServer`: uvicorn on a free loopback port, in a thread.
- :class:`MockControls`: the admin API (reset, clock, faults, journal, tasks, accounts) over
  any ``httpx.Client`` - the same calls in-process and over the wire.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import anyio.from_thread
import httpx
from bgmock.server.app import create_app
from bgmock.server.settings import Settings

IN_PROCESS_URL = "http://bgmock.test"


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self.app = app
        self._async = httpx.ASGITransport(app=app)
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self.portal = self._portal_cm.__enter__()

    async def _handle(self, request: httpx.Request, body: bytes) -> httpx.Response:
        forwarded = httpx.Request(request.method, request.url, headers=request.headers,
                                  content=body)
        response = await self._async.handle_async_request(forwarded)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        return self.portal.call(self._handle, request, body)

    def close(self) -> None:
        """Clients built on this transport may close; the loop lives until :meth:`shutdown`."""

    def shutdown(self) -> None:
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
            self._portal_cm = None


class MockControls:
    """The admin API as method calls."""

    def __init__(self, http: httpx.Client, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    def url(self, provider: str) -> str:
        """Base URL to give a provider's client, e.g. ``.../topview``."""
        return f"{self.base_url}/{provider}"

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}/__admin{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._admin("GET", "/health")

    def reset(self) -> None:
        self._admin("POST", "/reset")

    def clock(self) -> dict[str, Any]:
        return self._admin("GET", "/clock")

    def advance(self, seconds: float) -> dict[str, Any]:
        return self._admin("POST", "/clock/advance", json={"seconds": seconds})

    def fault(self, provider: str, fault: str, operation: str = "*", key: str | None = None,
              count: int | None = None, match: dict[str, str] | None = None) -> dict[str, Any]:
        """Add a fault rule; ``match``: input fields it applies to (one task of an array)."""
        rule: dict[str, Any] = {"provider": provider, "operation": operation, "fault": fault,
                                "key": key, "count": count}
        if match is not None:
            rule["match"] = match
        return self._admin("POST", "/faults", json=rule)

    def clear_faults(self) -> None:
        self._admin("DELETE", "/faults")

    def journal(self, provider: str | None = None, operation: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("provider", provider), ("operation", operation),
                                    ("limit", limit)) if v is not None}
        return self._admin("GET", "/journal", params=params)

    def tasks(self, provider: str | None = None) -> list[dict[str, Any]]:
        return self._admin("GET", "/tasks", params={"provider": provider} if provider else {})

    def task(self, task_id: str) -> dict[str, Any]:
        return self._admin("GET", f"/tasks/{task_id}")

    def account(self, provider: str, key: str) -> dict[str, Any]:
        return self._admin("GET", f"/accounts/{provider}/{key}")

    def set_account(self, provider: str, key: str, **changes: Any) -> dict[str, Any]:
        return self._admin("PUT", f"/accounts/{provider}/{key}", json=changes)


class InProcessMock(MockControls):
    """The app in this process; ``transport`` / ``async_transport`` plug into httpx clients."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.app = create_app(settings or Settings(clock="virtual"))
        self.engine = self.app.state.engine
        self.transport = SyncASGITransport(self.app)
        self.async_transport = httpx.ASGITransport(app=self.app)
        super().__init__(httpx.Client(transport=self.transport), IN_PROCESS_URL)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(transport=self.transport, base_url=IN_PROCESS_URL, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.async_transport, base_url=IN_PROCESS_URL,
                                 **kwargs)

    def close(self) -> None:
        self.http.close()
        self.transport.shutdown()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class MockServer(MockControls):
    """uvicorn serving the mock on a free loopback port, in a background thread."""

    def __init__(self, settings: Settings | None = None) -> None:
        from bgmock.server import server as serving

        settings = settings or Settings(clock="virtual")
        port = settings.port if settings.port else free_port(settings.host)
        self.settings = replace(settings, port=port)
        self.app = create_app(self.settings)
        self.engine = self.app.state.engine
        # the same protocol, limits and shutdown as `bgmock serve`, quieter
        config = serving.config(self.app, replace(self.settings, log_level="warning"))
        config.host, config.port = self.settings.host, port
        self.server = serving.Server(config, self.engine)
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        super().__init__(httpx.Client(timeout=30), f"http://{self.settings.host}:{port}")

    def start(self, timeout: float = 10.0) -> MockServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("bgmock server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self.http.close()


@contextlib.contextmanager
def running_server(settings: Settings | None = None) -> Iterator[MockServer]:
    server = MockServer(settings).start()
    try:
        yield server
    finally:
        server.stop()
