"""Plain HTTP hygiene shared by every surface: ``Allow`` values, ``HEAD`` without a body, and a
capped request body (ASGI level, no framework needed)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Message, Receive, Send


def allow_header(methods: Iterable[str]) -> str:
    """The ``Allow`` value for a path taking ``methods``; ``HEAD`` wherever ``GET`` is."""
    names = set(methods)
    if "GET" in names:
        names.add("HEAD")
    return ", ".join(sorted(names))


def without_body(send: Send) -> Send:
    """``send`` for a ``HEAD`` answer: the status and headers of ``GET`` (``Content-Length``
    included), no body bytes, whatever the server does on its side."""

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            message = {**message, "body": b""}
        await send(message)

    return send_head


async def read_capped(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it passes ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # disconnected: what came so far
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over ``body`` (already read) once, then waits as before."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
