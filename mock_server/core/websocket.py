"""A provider's WebSocket route (decision D81): each message is one request through the same
dispatch, pipeline and journal as HTTP (method ``WEBSOCKET``); its answer is one text frame.

A message that is not JSON, or over the route's size limit, gets the provider's malformed-input
error as a frame and the socket stays open; only the client (or a server shutdown) closes it.
An upgrade to a path with no WebSocket route is refused (HTTP 403 before the handshake).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bgmock.server.core.edge import Unreadable, headers_of, parse_json, query_of
from bgmock.server.core.pipeline import Incoming
from bgmock.server.core.sessions import Session
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from bgmock.server.core.dispatch import Dispatcher

WEBSOCKET = "WEBSOCKET"


def _params(message: dict[str, Any], limit: int) -> tuple[Any, str | None]:
    """The message as JSON, or the reason it is not."""
    text, data = message.get("text"), message.get("bytes")
    size = len(text) if text is not None else len(data or b"")
    if size > limit:
        return None, "message too large"
    raw = data if data is not None else (text or "").encode("utf-8")
    try:
        return parse_json(raw), None
    except Unreadable as exc:
        return None, str(exc)


async def serve(dispatcher: Dispatcher | None, scope: Scope, receive: Receive,
                send: Send) -> None:
    websocket = WebSocket(scope, receive, send)
    if dispatcher is None:
        await websocket.close()  # before accept: the server answers the upgrade with 403
        return
    await websocket.accept()
    headers, query = headers_of(websocket), query_of(websocket)
    path = scope.get("bgmock.path", scope["path"])
    session = Session()  # one per connection: what it authenticated as, its id
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            started = time.perf_counter()
            params, unreadable = _params(message, dispatcher.body_limit)
            incoming = Incoming(WEBSOCKET, path, headers, query, params, socket=websocket,
                                session=session)
            response = await dispatcher.answer(websocket, incoming, unreadable, started)
            await websocket.send_text(bytes(response.body).decode("utf-8"))
    except (WebSocketDisconnect, RuntimeError):
        return  # the client went away mid-answer
