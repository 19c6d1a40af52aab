"""Runware's WebSocket rules (R3, R4, R20; D206): what the core socket layer
(:mod:`bgmock.server.core.websocket`) needs to know of Runware.

- frames up to 30 MiB (uploads travel as base64 inside one frame);
- the server closes a socket after 120 s of mock time without a message either way;
- answers a closed socket could not take are kept 120 s; a client asks for them by
  re-authenticating with the old ``connectionSessionUUID``
  (``[{"taskType":"authentication","apiKey":…,"connectionSessionUUID":…}]``), and gets them
  right after the authentication's answer, which names the old session again.

Authentication first (tasks before it → ``missingApiKey``), ``ping`` before it, and a socket
that stays open after ``invalidApiKey`` are the task handlers' and the spec's (``service.py``,
``routes.py``): the authentication task sets ``Incoming.session.key``.
"""

from __future__ import annotations

from typing import Any

from bgmock.server.core.sessions import Resume, SocketRules

MiB = 1024 * 1024
MAX_ID = 64  # characters of a session id or key the resume hook looks at


class RunwareSocket(SocketRules):
    idle_seconds = 120.0           # R3: "closes the connection 120 s after the last message"
    auth_seconds = 30.0            # D207: an unauthenticated socket holds a slot 30 wall s at most
    resume_seconds = 120.0         # R3: "undelivered results are buffered 120 s"
    max_frame_bytes = 30 * MiB     # R4
    max_inflight = 32              # D200: the SDK sends up to 15 requests at once

    def resume(self, params: Any) -> Resume | None:
        """An ``authentication`` task naming a ``connectionSessionUUID`` (the first
        authentication task of the frame; a frame may be an array or one object)."""
        items = params if isinstance(params, list) else [params]
        for item in items[:MAX_ID]:
            if isinstance(item, dict) and item.get("taskType") == "authentication":
                session, key = item.get("connectionSessionUUID"), item.get("apiKey")
                if isinstance(session, str) and isinstance(key, str) \
                        and 0 < len(session) <= MAX_ID and 0 < len(key) <= 4 * MAX_ID:
                    return Resume(session, key)
                return None
        return None


RULES = RunwareSocket()
