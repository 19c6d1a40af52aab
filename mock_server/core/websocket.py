"""A provider's WebSocket route (decisions D81, D200-D205): each message is one request through
the same dispatch, pipeline and journal as HTTP (method ``WEBSOCKET``); its answer is one frame.

- Messages of one connection are handled concurrently (a slow image task never holds a
  ``ping`` back); frames are sent one at a time. At most ``SocketRules.max_inflight`` messages
  (and about 2 frame limits of bytes) are in hand per connection; the next waits to be read.
- Each connection has a :class:`~bgmock.server.core.sessions.Session`; the provider's
  authentication sets its key. An answer that cannot be sent because the socket closed is
  parked for ``SocketRules.resume_seconds`` (authenticated sessions only); a message the
  provider's :meth:`~bgmock.server.core.sessions.SocketRules.resume` hook names as a resume
  gets the old session id and, after its own answer, the parked frames.
- A connection idle (no message either way) for ``SocketRules.idle_seconds`` of mock time is
  closed (code 1000), never while a message is in hand.
- A message that is not JSON, or over the frame limit, gets the provider's malformed-input
  error as a frame and the socket stays open; only the client, an idle close, the mock's drop
  (``POST /__admin/websockets/drop``, fault ``drop``) or a shutdown close it.
- At most ``sessions.MAX_SOCKETS`` sockets are open; one more is closed at once (1013).
- An upgrade to a path with no WebSocket route is refused (HTTP 403 before the handshake).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bgmock.server.core.edge import Unreadable, headers_of, parse_json, query_of
from bgmock.server.core.pipeline import Incoming
from bgmock.server.core.sessions import DROP_CODE, Resume, Session, SocketRules
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from bgmock.server.core.dispatch import Dispatcher
    from bgmock.server.core.engine import Engine

log = logging.getLogger(__name__)
WEBSOCKET = "WEBSOCKET"
TRY_AGAIN = 1013          # close code: too many sockets
CLOSE_WAIT = 5.0          # seconds a server-side close waits for a send in progress


def _params(message: dict[str, Any], limit: int) -> tuple[Any, str | None, int]:
    """The message as JSON (or the reason it is not) and its size."""
    text, data = message.get("text"), message.get("bytes")
    size = len(text) if text is not None else len(data or b"")
    if size > limit:
        return None, "message too large", size
    raw = data if data is not None else (text or "").encode("utf-8")
    try:
        return parse_json(raw), None, size
    except Unreadable as exc:
        return None, str(exc), size


@dataclass(eq=False)
class Connection:
    """One open socket: its session, the messages in hand, when it last spoke."""

    id: int
    provider: str
    websocket: WebSocket
    rules: SocketRules
    engine: Engine
    session: Session = field(default_factory=Session)
    opened: float = 0.0
    last: float = 0.0                 # mock time of the last message either way
    open: bool = True
    inflight: set[asyncio.Task[None]] = field(default_factory=set)
    inflight_bytes: int = 0
    close_code: int | None = None
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _room: asyncio.Event = field(default_factory=asyncio.Event)
    _idle_timeline: Any = None
    _auth_close: asyncio.Future[None] | None = None  # kept so the close is not collected

    def touch(self) -> None:
        self.last = self.engine.clock.now()
        if self.rules.idle_seconds is not None and self._idle_timeline is not \
                self.engine.timeline:  # first message, or the timeline was reset
            self._arm(self.last + self.rules.idle_seconds)

    def _arm(self, when: float) -> None:
        self._idle_timeline = self.engine.timeline
        # a weak reference: a closed connection is not kept until its check comes due
        self.engine.timeline.at(when, _idle_check, weakref.ref(self))

    def idle_check(self) -> asyncio.Future[None] | None:
        if not self.open or self.rules.idle_seconds is None:
            return None
        due = self.last + self.rules.idle_seconds
        if self.inflight or due > self.engine.clock.now():
            self._arm(max(due, self.engine.clock.now() + 1.0))
            return None
        return asyncio.ensure_future(self.close(1000, "idle timeout"))

    async def send(self, text: str) -> None:
        """One frame; raises when the socket is closed or closing."""
        async with self._send_lock:
            if not self.open:
                raise ConnectionError("socket closed")
            await self.websocket.send_text(text)
            self.last = self.engine.clock.now()

    async def deliver(self, text: str) -> None:
        """Send ``text``, or park it for a resume when the socket is gone."""
        try:
            await self.send(text)
        except Exception:  # closed, closing, or the client vanished mid-send
            self.open = False
            self.engine.parked.park(self.session, text, self.rules.resume_seconds)

    async def close(self, code: int, reason: str = "") -> None:
        """Close from the server's side (idle, drop); answers still in hand are parked. A send
        stuck on a client that does not read holds the close back at most
        :data:`CLOSE_WAIT` seconds."""
        if not self.open:
            return
        self.open, self.close_code = False, code  # no new sends from here on
        try:
            await asyncio.wait_for(self._send_lock.acquire(), CLOSE_WAIT)
        except TimeoutError:
            locked = False
        else:
            locked = True
        try:
            with contextlib.suppress(Exception):  # already gone
                await self.websocket.close(code, reason)
        finally:
            if locked:
                self._send_lock.release()

    async def room(self, size: int, limit: int) -> None:
        """Wait until another message of ``size`` bytes may be taken in hand."""
        while self.inflight and (len(self.inflight) >= self.rules.max_inflight
                                 or self.inflight_bytes + size > 2 * limit):
            self._room.clear()
            await self._room.wait()

    def done(self, task: asyncio.Task[None], size: int) -> None:
        self.inflight.discard(task)
        self.inflight_bytes -= size
        self._room.set()

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "key": self.session.key,
                "session": self.session.id, "opened": self.opened, "lastMessage": self.last,
                "inflight": len(self.inflight)}


def _idle_check(ref: weakref.ref[Connection]) -> asyncio.Future[None] | None:
    connection = ref()
    return connection.idle_check() if connection is not None else None


def _auth_check(ref: weakref.ref[Connection]) -> None:
    """A socket that has not authenticated by its deadline is closed (D207)."""
    connection = ref()
    if connection is not None and connection.open and connection.session.key is None:
        connection._auth_close = asyncio.ensure_future(
            connection.close(1008, "authentication timeout"))


async def _handle(dispatcher: Dispatcher, connection: Connection, message: dict[str, Any],
                  limit: int, headers: Any, query: Any, path: str) -> None:
    try:
        await _answer(dispatcher, connection, message, limit, headers, query, path)
    except Exception:  # never expected: the dispatcher answers every failure itself
        log.exception("%s: a WebSocket message failed", connection.provider)


async def _answer(dispatcher: Dispatcher, connection: Connection, message: dict[str, Any],
                  limit: int, headers: Any, query: Any, path: str) -> None:
    started = time.perf_counter()
    engine, session = dispatcher.engine, connection.session
    params, unreadable, _ = _params(message, limit)
    incoming = Incoming(WEBSOCKET, path, headers, query, params, socket=connection.websocket,
                        session=session)
    resume = _resume(connection, params) if unreadable is None else None
    before = session.id
    if resume is not None:
        session.id = resume.session_id  # the authentication answers with the old id
    response = await dispatcher.answer(connection.websocket, incoming, unreadable, started)
    text = bytes(response.body).decode("utf-8")
    if resume is not None and session.key != resume.key:
        session.id, resume = before, None  # the authentication failed: nothing to claim
    if incoming.drop:  # fault ``drop``: the answer is parked, the socket dropped
        engine.parked.park(session, text, connection.rules.resume_seconds)
        await connection.close(DROP_CODE, "dropped by the mock (fault)")
        return
    await connection.deliver(text)
    if resume is not None:
        for frame in engine.parked.claim(resume):
            await connection.deliver(frame)


def _resume(connection: Connection, params: Any) -> Resume | None:
    """The provider's resume hook, asked only when something is parked for the session."""
    try:
        resume = connection.rules.resume(params)
    except Exception:
        log.exception("%s: the resume hook failed", connection.provider)
        return None
    if resume is None or connection.engine.parked.owner(resume.session_id) != resume.key:
        return None  # nothing kept, or another key's: a new session (never its id)
    return resume


async def serve(dispatcher: Dispatcher | None, scope: Scope, receive: Receive,
                send: Send) -> None:
    websocket = WebSocket(scope, receive, send)
    if dispatcher is None:
        await websocket.close()  # before accept: the server answers the upgrade with 403
        return
    engine = dispatcher.engine
    hub = engine.sockets
    await websocket.accept()
    if hub.full():
        await websocket.close(TRY_AGAIN, "too many open sockets")
        return
    rules, limit = dispatcher.spec.socket_rules, dispatcher.frame_limit
    now = engine.clock.now()
    connection = Connection(hub.next_id(), dispatcher.spec.name, websocket, rules, engine,
                            opened=now)
    hub.connections[connection.id] = connection
    connection.touch()
    if rules.auth_seconds is not None:
        asyncio.get_running_loop().call_later(rules.auth_seconds, _auth_check,
                                               weakref.ref(connection))
    headers, query = headers_of(websocket), query_of(websocket)
    path = scope.get("bgmock.path", scope["path"])
    try:
        while connection.open:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            connection.touch()
            size = len(message.get("text") or message.get("bytes") or b"")
            await connection.room(size, limit)
            task = asyncio.create_task(_handle(dispatcher, connection, message, limit,
                                               headers, query, path))
            connection.inflight.add(task)
            connection.inflight_bytes += size
            task.add_done_callback(lambda done, size=size: connection.done(done, size))
    except (WebSocketDisconnect, RuntimeError):
        return  # the client went away
    finally:
        connection.open = False
        hub.connections.pop(connection.id, None)
