"""What the fast ``/__admin/health`` route and the FastAPI admin app share: the report and
the admin-token check."""

from __future__ import annotations

import hmac
from typing import Any

from bgmock.server import __version__
from bgmock.server.core.engine import Engine


def health_report(engine: Engine) -> dict[str, Any]:
    return {"status": "ok", "version": __version__,
            "providers": sorted(p.name for p in engine.providers),
            "clock": engine.clock.snapshot(), "tasks": len(engine.tasks.tasks),
            "storedBytes": engine.files.total_bytes,
            "evictedObjects": engine.files.evicted_count}


def token_ok(engine: Engine, authorization: str | None) -> bool:
    """True when no admin token is set, or ``Authorization: Bearer <token>`` carries it."""
    token = engine.settings.admin_token
    if token is None:
        return True
    given = (authorization or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())
