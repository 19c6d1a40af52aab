"""The server process: uvicorn with the limits a long-running shared mock needs (D50-D56).

- the request head (request line + headers) is capped in bytes and in header count, answered
  ``431`` before the bytes pile up (httptools itself has no limit);
- a connection must send its request head within ``header_timeout`` (uvicorn's keep-alive timer
  only starts after a first response, so silent connections lived for ever);
- at most ``max_connections`` connections are served; one more gets ``503`` and is closed;
- shutdown wakes every injected delay, so in-flight requests finish normally in time;
- the listening sockets are bound before uvicorn starts, so a busy port is reported plainly.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
from typing import Any

import httptools
import uvicorn
from bgmock.server.core.engine import Engine
from bgmock.server.settings import Settings
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("uvicorn.error")

SLICE = 16 * 1024          # bytes of an unfinished head fed to the parser at a time
OVER_CAP_TIMEOUT = 1.0     # head timeout of a connection that arrived over the cap
LINGER = 2.0               # after a 431: read and drop the rest this long, so it is seen
RESERVED_FDS = 64          # file descriptors kept for everything but connections


def _error(status: bytes, message: str) -> bytes:
    body = json.dumps({"bgmockError": message}).encode()
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
            + body)


class LimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with head limits, a head timeout and a connection cap.

    The class attributes are set per server by :func:`protocol_class`.
    """

    max_head_bytes = 64 * 1024
    max_headers = 100
    head_timeout = 10.0
    max_connections = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True        # between a message's end (or connect) and its headers' end
        self._head_fed = 0          # bytes fed while the head stayed unfinished
        self._head_seen = 0         # request target + headers, as the parser hands them over
        self._header_count = 0
        self._refused: str | None = None
        # When the head being waited for began (loop time); None while none is awaited.
        self._head_since: float | None = None
        self._head_limit = self.head_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    # -- connection -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._head_limit = min(self.head_timeout, OVER_CAP_TIMEOUT)
        self._head_since = self.loop.time()
        self._head_timer = self.loop.call_later(self._head_limit, self._head_check)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_check(self) -> None:
        """One timer per connection, not one per request (D161): a request only stamps when its
        head began; the timer closes a connection whose head is late and otherwise comes back
        when the current head would be due (or a whole timeout later, when none is awaited)."""
        self._head_timer = None
        if self.transport.is_closing():
            return
        now, since = self.loop.time(), self._head_since
        if since is not None and now - since >= self._head_limit:
            if self.cycle is not None and not self.cycle.response_complete:
                self._head_since = since = now  # a pipelined head waits for the answer first
            else:
                self.transport.close()
                return
        due = self._head_limit if since is None else since + self._head_limit - now
        self._head_timer = self.loop.call_later(due, self._head_check)

    # -- bytes in ---------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._refused is not None:
            return  # lingering after a 431: drop the rest
        self._unset_keepalive_if_required()
        if len(data) <= SLICE:  # the usual case: a whole request (or the rest of one) at once
            in_head = self._in_head
            if self._feed(data) and in_head and self._in_head:
                self._count_fed(len(data))
            return
        while data:
            in_head = self._in_head
            if in_head:  # an unfinished head is fed in slices, counted as it goes
                piece, data = data[:SLICE], data[SLICE:]
            else:
                piece, data = data, b""
            if not self._feed(piece):
                return
            if in_head and self._in_head and not self._count_fed(len(piece)):
                return

    def _count_fed(self, size: int) -> bool:
        """Count ``size`` bytes fed while the head stays unfinished; False once over the cap."""
        self._head_fed += size
        if self._head_fed > self.max_head_bytes:
            self._refuse(f"request head over {self.max_head_bytes} bytes")
            return False
        return True

    def _feed(self, piece: bytes) -> bool:
        """Parse ``piece`` as uvicorn does; False when the connection is done with."""
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        except httptools.HttpParserError:
            if self._refused is not None:
                self._refuse(self._refused)
            else:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
            return False
        return not self.transport.is_closing()

    def _refuse(self, reason: str) -> None:
        """Answer 431 and close; keep reading (and dropping) a moment so the client sees it."""
        self._refused = reason
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a pipelined answer is still being written
            return
        self.transport.write(_error(b"431 Request Header Fields Too Large", reason))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER, self.transport.close)

    # -- parser callbacks (hot: each runs per request or per header) -------------------------
    def on_message_begin(self) -> None:
        _on_message_begin(self)
        self._in_head = True
        self._head_since = self.loop.time()

    def on_message_complete(self) -> None:
        self._in_head = True  # whatever follows is the next request's head
        _on_message_complete(self)

    def on_url(self, url: bytes) -> None:
        self._head_seen += len(url)
        if self._head_seen > self.max_head_bytes:
            self._check_head()
        _on_url(self, url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_seen += len(name) + len(value) + 4
        self._header_count += 1
        if self._head_seen > self.max_head_bytes or self._header_count > self.max_headers:
            self._check_head()
        _on_header(self, name, value)

    def _check_head(self) -> None:
        if self._head_seen > self.max_head_bytes:
            self._refused = f"request head over {self.max_head_bytes} bytes"
        elif self._header_count > self.max_headers:
            self._refused = f"more than {self.max_headers} header fields"
        if self._refused is not None:
            raise ValueError(self._refused)  # stops the parser; data_received answers 431

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_since = None
        self._head_fed = self._head_seen = self._header_count = 0
        if len(self.connections) <= self.max_connections:
            _on_headers_complete(self)
            return
        app, self.app = self.app, self._overloaded
        try:
            _on_headers_complete(self)
        finally:
            self.app = app

    async def _overloaded(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = json.dumps({"bgmockError": f"too many connections (max_connections="
                                          f"{self.max_connections}); retry shortly"}).encode()
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", b"1"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


# uvicorn's callbacks, called directly: ``super()`` costs a lookup per header on the hot path
_on_message_begin = HttpToolsProtocol.on_message_begin
_on_message_complete = HttpToolsProtocol.on_message_complete
_on_url = HttpToolsProtocol.on_url
_on_header = HttpToolsProtocol.on_header
_on_headers_complete = HttpToolsProtocol.on_headers_complete


def protocol_class(settings: Settings, max_connections: int | None = None) -> type:
    """:class:`LimitedHttpTools` with this server's limits."""
    return type("BgmockHttpProtocol", (LimitedHttpTools,), {
        "max_head_bytes": settings.max_header_bytes, "max_headers": settings.max_headers,
        "head_timeout": settings.header_timeout,
        "max_connections": max_connections or settings.max_connections})


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered to what the open-file limit allows (raising the soft limit first):
    past the cap clients get a 503; past the file limit they would get nothing at all."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + RESERVED_FDS
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted
    cap = max(1, soft - RESERVED_FDS)
    log.warning("max_connections lowered to %d: the open-file limit is %d (ulimit -n)",
                cap, soft)
    return cap


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for ``host`` (every address it resolves to); ``OSError`` if not."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, sockaddr in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(2048)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Server(uvicorn.Server):
    """uvicorn's server that also tells the engine when it is stopping."""

    def __init__(self, config: uvicorn.Config, engine: Engine) -> None:
        super().__init__(config)
        self.engine = engine

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:  # uvicorn logs this only when it binds itself
            for sock in sockets:
                host, port = sock.getsockname()[:2]
                log.info("Uvicorn running on http://%s (Press CTRL+C to quit)",
                         address(host, port))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.engine.stop()  # injected delays end now: in-flight requests answer normally
        await super().shutdown(sockets)


def config(app: Any, settings: Settings) -> uvicorn.Config:
    from bgmock.server.app import WS_MAX_SIZE, MockApp

    return uvicorn.Config(
        app, log_level=settings.log_level, server_header=False,
        # frames as large as the largest WebSocket route takes (Runware: 30 MiB, D203)
        ws_max_size=app.ws_max_size if isinstance(app, MockApp) else WS_MAX_SIZE,
        http=protocol_class(settings),
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
        timeout_graceful_shutdown=settings.shutdown_timeout,  # type: ignore[arg-type]
        # off unless asked (D160); below info the lines would be dropped anyway
        access_log=settings.access_log and settings.log_level in ("info", "debug"))


MMAP_THRESHOLD = 128 * 1024  # glibc's default, kept from moving up


def fixed_mmap_threshold() -> None:
    """Keep glibc's threshold for serving allocations by ``mmap`` where it starts (D170).

    glibc raises it after each large block is freed, up to 32 MiB; after that a client's
    large bodies come from the heap, which is seldom given back, and the server's RSS stays
    at the peak. (Image work used to trim the heap as a side effect, before it moved to worker
    processes.) No-op where this is not glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def run(app: Any, settings: Settings, sockets: list[socket.socket]) -> None:
    """Serve ``app`` on the bound ``sockets`` until SIGTERM/SIGINT."""
    uvicorn_config = config(app, settings)  # sets up logging, so the cap can warn
    gc.freeze()  # start-up's objects (modules, contracts, fixtures) out of every GC pass (D166)
    fixed_mmap_threshold()
    uvicorn_config.http = protocol_class(settings, connection_cap(settings.max_connections))
    Server(uvicorn_config, app.state.engine).run(sockets=sockets)
