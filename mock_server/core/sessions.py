"""A connection's session: one per WebSocket connection (None for HTTP requests).

A provider whose protocol authenticates a connection once (Runware's first ``authentication``
message) keeps the key it accepted here, so the connection's later messages are its caller's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class Session:
    """``id``: the connection's id (a provider may hand it out, e.g. Runware's
    ``connectionSessionUUID``); ``key``: the API key the connection authenticated with."""

    id: str = field(default_factory=_new_id)
    key: str | None = None
