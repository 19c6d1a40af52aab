"""A transport wrapper that keeps every exchange and checks each against the contracts."""

from __future__ import annotations

from collections.abc import Callable

import httpx

Check = Callable[[httpx.Request, httpx.Response], "str | None"]


def is_storage(request: httpx.Request) -> bool:
    """An upload or download on the mock's storage, not an API call."""
    return "/files/" in request.url.path


class Recorder(httpx.BaseTransport):
    """Forwards to ``inner``; ``check`` validates an exchange and names the schema it used."""

    def __init__(self, inner: httpx.BaseTransport, check: Check,
                 operation_of: Callable[[httpx.Request], str | None] | None = None) -> None:
        self.inner, self.check, self.operation_of = inner, check, operation_of
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []
        self.validated: list[str] = []

    def record(self, request: httpx.Request, response: httpx.Response) -> None:
        self.exchanges.append((request, response))
        schema = self.check(request, response)
        if schema:
            self.validated.append(schema)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.record(request, response)
        return response

    def api(self) -> list[httpx.Request]:
        return [r for r, _ in self.exchanges if not is_storage(r)]

    def storage(self) -> list[httpx.Request]:
        return [r for r, _ in self.exchanges if is_storage(r)]

    def requests(self, operation: str | None = None) -> list[httpx.Request]:
        """API requests, or those of one operation (needs ``operation_of``)."""
        if operation is None:
            return [r for r, _ in self.exchanges]
        assert self.operation_of is not None
        return [r for r in self.api() if self.operation_of(r) == operation]


class AsyncRecorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, check: Check,
                 operation_of: Callable[[httpx.Request], str | None] | None = None) -> None:
        self.inner = inner
        self.sync = Recorder(httpx.BaseTransport(), check, operation_of)
        self.validated = self.sync.validated

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.sync.record(request, response)
        return response
