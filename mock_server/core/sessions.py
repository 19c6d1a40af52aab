"""WebSocket sessions (decisions D200-D203): who a connection is, the rules a provider sets for
its sockets, and the answers kept for a client that comes back.

- :class:`Session`: one per connection; ``key`` is set by the provider's authentication
  operation (None until then: nothing unauthenticated is kept).
- :class:`SocketRules`: a provider's socket settings and its resume hook (defaults: no idle
  close, the route's body limit per frame, nothing kept).
- :class:`SocketHub`: every open socket (a cap, the admin's list and drop).
- :class:`ParkedFrames`: answers that could not be sent because their socket closed, kept on
  the mock clock for ``SocketRules.resume_seconds`` and bounded per key and in total; a client
  that re-authenticates naming the old session claims them.
"""

from __future__ import annotations

import itertools
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bgmock.server.core.clock import Clock
    from bgmock.server.core.timeline import Timeline
    from bgmock.server.core.websocket import Connection

MAX_SOCKETS = 1000        # open at once, all providers
DROP_CODE = 1012          # close code of the mock's abnormal drop (clients see an error close)
DROP_CODES = (1011, 1012, 1013, 1014)  # an admin may pick one (none counts as a clean close)


def new_session_id() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class Session:
    """One WebSocket connection as the provider sees it."""

    id: str = field(default_factory=new_session_id)
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    """A message asking to take over an earlier session (with the key that asks)."""

    session_id: str
    key: str


class SocketRules:
    """A provider's WebSocket rules. Subclass and override to change them."""

    # Close after this many mock seconds without a message either way (None: never).
    idle_seconds: float | None = None
    # The largest frame (bytes); None: the route's body limit.
    max_frame_bytes: int | None = None
    # How long answers a closed socket could not take are kept for a resume (0: not kept).
    resume_seconds: float = 0.0
    # Frames of one connection handled at once; more wait to be read.
    max_inflight: int = 32
    # Wall seconds a socket may stay open without an authenticated session (None: no limit);
    # then it is closed with 1008. Wall time, like the header timeout: an open socket holds a
    # connection slot whatever the mock clock does (D207).
    auth_seconds: float | None = None

    def resume(self, params: Any) -> Resume | None:
        """The session a message (parsed JSON) asks to resume, if any."""
        return None


DEFAULT_RULES = SocketRules()


@dataclass(slots=True)
class _Parked:
    key: str
    frames: deque[str] = field(default_factory=deque)
    size: int = 0


class ParkedFrames:
    """Undelivered answers by session id, oldest first. Bounded: at most ``per_key`` bytes for
    one key, ``total`` bytes and ``sessions`` sessions overall (the oldest frames go first);
    each session's frames go ``keep`` mock seconds after the last was parked (one timeline
    entry per session, moved on when it comes due early)."""

    def __init__(self, clock: Clock, timeline: Timeline, total: int = 64 * 1024 * 1024,
                 per_key: int = 16 * 1024 * 1024, sessions: int = 10_000) -> None:
        self.clock, self.timeline = clock, timeline
        self.total, self.per_key, self.max_sessions = total, per_key, sessions
        self._sessions: OrderedDict[str, _Parked] = OrderedDict()
        self._expires: dict[str, float] = {}
        self._by_key: dict[str, int] = {}
        self.size = 0
        self.dropped = 0  # frames given up for the bounds

    def park(self, session: Session, frame: str, keep: float) -> bool:
        """Keep ``frame`` for ``session`` (authenticated only) ``keep`` mock seconds."""
        key = session.key
        if key is None or keep <= 0 or len(frame) > min(self.total, self.per_key):
            return False
        parked = self._sessions.get(session.id)
        if parked is None or parked.key != key:
            self._drop(session.id)
            parked = self._sessions[session.id] = _Parked(key)
        self._sessions.move_to_end(session.id)
        parked.frames.append(frame)
        parked.size += len(frame)
        self.size += len(frame)
        self._by_key[key] = self._by_key.get(key, 0) + len(frame)
        while self._by_key.get(key, 0) > self.per_key:
            self._evict(lambda p: p.key == key)
        while self.size > self.total or len(self._sessions) > self.max_sessions:
            self._evict(lambda p: True)
        if session.id not in self._sessions:  # its own frame went for the bounds
            return True
        when = self.clock.now() + keep
        if session.id not in self._expires:
            self.timeline.at(when, self._expire, session.id)
        self._expires[session.id] = when
        return True

    def claim(self, resume: Resume) -> list[str]:
        """The frames kept for ``resume.session_id`` when ``resume.key`` parked them (taken
        out); an empty list otherwise."""
        parked = self._sessions.get(resume.session_id)
        if parked is None or parked.key != resume.key:
            return []
        frames = list(parked.frames)
        self._drop(resume.session_id)
        return frames

    def holds(self, session_id: str) -> int:
        parked = self._sessions.get(session_id)
        return len(parked.frames) if parked is not None else 0

    def owner(self, session_id: str) -> str | None:
        """The key whose answers are kept for ``session_id`` (None: none are)."""
        parked = self._sessions.get(session_id)
        return parked.key if parked is not None else None

    def snapshot(self) -> dict[str, Any]:
        return {"sessions": len(self._sessions), "bytes": self.size,
                "frames": sum(len(p.frames) for p in self._sessions.values()),
                "dropped": self.dropped}

    def _evict(self, which: Any) -> None:
        for session_id, parked in self._sessions.items():
            if which(parked) and parked.frames:
                frame = parked.frames.popleft()
                self._account(parked, -len(frame))
                self.dropped += 1
                if not parked.frames:
                    self._drop(session_id)
                return

    def _account(self, parked: _Parked, size: int) -> None:
        parked.size += size
        self.size += size
        left = self._by_key.get(parked.key, 0) + size
        if left > 0:
            self._by_key[parked.key] = left
        else:
            self._by_key.pop(parked.key, None)

    def _drop(self, session_id: str) -> None:
        parked = self._sessions.pop(session_id, None)
        self._expires.pop(session_id, None)
        if parked is not None:
            self._account(parked, -parked.size)

    def _expire(self, session_id: str) -> None:
        when = self._expires.get(session_id)
        if when is None:
            return
        if when <= self.clock.now():
            self._drop(session_id)
        else:  # parked again since: come back then
            self.timeline.at(when, self._expire, session_id)


class SocketHub:
    """Every open socket of the mock (they outlive a reset: a reset empties stores, it does not
    hang up on clients)."""

    def __init__(self, limit: int = MAX_SOCKETS) -> None:
        self.limit = limit
        self.connections: dict[int, Connection] = {}
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def full(self) -> bool:
        return len(self.connections) >= self.limit

    def select(self, provider: str | None = None, key: str | None = None) -> list[Connection]:
        return [c for c in self.connections.values()
                if c.open and (provider is None or c.provider == provider)
                and (key is None or c.session.key == key)]

    async def drop(self, provider: str | None = None, key: str | None = None,
                   code: int = DROP_CODE) -> list[Connection]:
        """Close matching sockets with an error code, as a broken server would: clients see
        an abnormal close; answers in hand are parked for a resume."""
        found = self.select(provider, key)
        for connection in found:
            await connection.close(code, "dropped by the mock")
        return found
