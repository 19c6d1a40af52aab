"""``/__admin/webhooks``: the delivery journal and redelivery (core/webhooks.py, D112).

Every attempt (made, dropped or refused) is one record, oldest first; ``status`` filters by
outcome (delivered, failed, dropped, refused) or by the receiver's HTTP status.
"""

from __future__ import annotations

from typing import Any

from bgmock.server.core.engine import Engine
from bgmock.server.core.webhooks import OUTCOMES
from fastapi import APIRouter, HTTPException, Query

MAX_LIMIT = 10**6
MAX_FILTER = 200          # characters of a provider, task or status filter


def router(engine: Engine, bad_input: dict[int | str, Any],
           not_found: dict[int | str, Any]) -> APIRouter:
    """The routes; ``bad_input`` and ``not_found`` are the admin API's declared 400 and 404."""
    routes = APIRouter()
    providers = {p.name for p in engine.providers}

    @routes.get("/webhooks", responses=bad_input,
                summary="Callback attempts, oldest first (filter by provider, task, status: "
                        "an outcome or an HTTP status)")
    async def webhooks(provider: str | None = Query(None, max_length=MAX_FILTER),
                       task: str | None = Query(None, max_length=MAX_FILTER),
                       status: str | None = Query(None, max_length=MAX_FILTER),
                       limit: int | None = Query(None, ge=1, le=MAX_LIMIT)
                       ) -> list[dict[str, Any]]:
        if provider is not None and provider not in providers:
            raise HTTPException(400, f"unknown provider {provider[:40]!r} "
                                     f"(one of {', '.join(sorted(providers))})")
        if status is not None and status not in OUTCOMES and not (
                status.isascii() and status.isdigit() and len(status) == 3):
            raise HTTPException(400, f"status: one of {', '.join(OUTCOMES)} or an HTTP status")
        return engine.webhooks.entries(provider, task, status, limit)

    @routes.post("/webhooks/{attempt_id}/redeliver", responses={**bad_input, **not_found},
                 summary="Send a journaled callback's body and headers once more, now (one "
                         "attempt, no retries); answers the new attempt's record")
    async def redeliver(attempt_id: int) -> dict[str, Any]:
        record = await engine.webhooks.redeliver(attempt_id)
        if record is None:
            raise HTTPException(404, f"no webhook attempt {attempt_id}")
        return record.snapshot()

    return routes
