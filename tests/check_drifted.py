"""THE DRIFTED TARGET (issue 12, part 5): a copy of the mock app whose Topview answers differ
from the contract in exactly three planted ways, to prove the drift report names those and
nothing else:

1. ``credit_detail``: ``result.remainCredit`` renamed ``remainingCredit``;
2. ``remove_background_query``: ``result.costCredit`` a string instead of a number;
3. a wrong key's error code ``401`` answered as ``4011``, a code the contract does not list.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from bgmock.server.app import create_app
from bgmock.server.settings import Settings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PLANTED = {  # (kind, operation, path, expected, actual): what the report must say
    ("renamed_field", "credit_detail", "/result", "remainCredit", "remainingCredit"),
    ("type_change", "remove_background_query", "/result/costCredit", "number|null", "string"),
    ("error_code", "credit_detail", "/code", "a code the contract lists", '"4011"'),
}


def drifted(path: str, body: Any) -> Any:
    """The three planted changes, each on its own answer."""
    if not isinstance(body, dict):
        return body
    result = body.get("result")
    if path.endswith("/user/credit/detail") and isinstance(result, dict):
        result["remainingCredit"] = result.pop("remainCredit")
    if path.endswith("/remove_background/query") and isinstance(result, dict) \
            and isinstance(result.get("costCredit"), int | float):
        result["costCredit"] = str(result["costCredit"])
    if body.get("code") == "401":
        body["code"] = "4011"
    return body


class DriftedApp:
    """Wraps an ASGI app: Topview's JSON answers pass through :func:`drifted`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/topview/"):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            with contextlib.suppress(ValueError):  # not JSON: as it is
                body = json.dumps(drifted(scope["path"], json.loads(body))).encode()
            headers = [(k, v) for k, v in start.get("headers", [])
                       if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)


def drifted_app() -> DriftedApp:
    return DriftedApp(create_app(Settings(clock="virtual")))


@contextlib.contextmanager
def drifted_server() -> Iterator[str]:
    """The drifted app on a free loopback port (uvicorn in a thread); yields its base URL."""
    import uvicorn
    from bgmock.server.testing import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(drifted_app(), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the drifted server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
