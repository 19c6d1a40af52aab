"""A real callback receiver for tests: a small ASGI app under uvicorn on a free loopback port.

It records every request (wall time, path, headers, JSON body) and answers from a script:
``statuses`` are the HTTP statuses of the first requests (200 after them), ``hang`` makes the
first that many requests wait (as a receiver that never answers).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from bgmock.server.testing import free_port


@dataclass(frozen=True)
class Hit:
    at: float                 # wall time (time.time()) the request arrived
    path: str
    headers: dict[str, str]
    body: Any                 # the JSON body (None when it is not JSON: see raw)
    method: str = "POST"
    raw: bytes = b""


class Receiver:
    def __init__(self, statuses: tuple[int, ...] = (), hang: int = 0,
                 hang_seconds: float = 60.0) -> None:
        self.hits: list[Hit] = []
        self.statuses = list(statuses)
        self.hang = hang
        self.hang_seconds = hang_seconds
        self.arrived = threading.Event()
        self.port = free_port()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, lifespan="off",
                                interface="asgi3", log_level="warning",
                                timeout_graceful_shutdown=0.5)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/topview-callback"

    def __enter__(self) -> Receiver:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "no receiver"
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def wait(self, count: int, timeout: float = 5.0) -> list[Hit]:
        """The hits once there are ``count`` (wall-clock wait, for real-clock tests)."""
        deadline = time.monotonic() + timeout
        while len(self.hits) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.hits

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        raw = b"".join(chunks)
        try:
            body = json.loads(raw)
        except ValueError:  # a PUT of file bytes (Runware's uploadEndpoint)
            body = None
        self.hits.append(Hit(time.time(), scope["path"], headers, body, scope["method"], raw))
        self.arrived.set()
        if self.hang > 0:
            self.hang -= 1
            await asyncio.sleep(self.hang_seconds)
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"code":"200"}'})
