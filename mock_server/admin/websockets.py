"""``/__admin/websockets``: the open sockets, and dropping them as a broken server would (D205).

A drop closes each matching socket with an error close code (default 1012, "service restart"):
clients see an abnormal close (the official Runware SDK reconnects and retries); answers still
in hand are kept for a resume like any other undelivered answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from bgmock.server.core.accounts import MAX_KEY
from bgmock.server.core.engine import Engine
from bgmock.server.core.sessions import DROP_CODE, DROP_CODES
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

MAX_NAME = 100


class DropIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    provider: Annotated[str, Field(max_length=MAX_NAME)] | None = Field(
        None, description="Only this provider's sockets (default: every provider's)")
    key: Annotated[str, Field(min_length=1, max_length=MAX_KEY)] | None = Field(
        None, description="Only sockets authenticated with this account key")
    code: int = Field(DROP_CODE, description="Close code: 1011, 1012 (default), 1013 or 1014 "
                                             "(none of them a clean close)")


def router(engine: Engine, bad_input: dict[int | str, Any]) -> APIRouter:
    routes = APIRouter()
    providers = {p.name for p in engine.providers}

    def known(provider: str | None) -> None:
        if provider is not None and provider not in providers:
            raise HTTPException(400, f"unknown provider {provider[:40]!r} "
                                     f"(one of {', '.join(sorted(providers))})")

    @routes.get("/websockets", responses=bad_input,
                summary="Open WebSockets (filter by provider, account key) and the answers "
                        "kept for a resume")
    async def websockets(provider: str | None = Query(None, max_length=MAX_NAME),
                         key: str | None = Query(None, max_length=MAX_KEY)
                         ) -> dict[str, Any]:
        known(provider)
        return {"sockets": [c.snapshot() for c in engine.sockets.select(provider, key)],
                "parked": engine.parked.snapshot()}

    @routes.post("/websockets/drop", responses=bad_input,
                 summary="Drop open WebSockets abnormally (filter by provider, account key); "
                         "answers the sockets dropped")
    async def drop(body: DropIn) -> dict[str, Any]:
        known(body.provider)
        if body.code not in DROP_CODES:
            raise HTTPException(400, f"code: one of {', '.join(map(str, DROP_CODES))}")
        dropped = await engine.sockets.drop(body.provider, body.key, body.code)
        return {"dropped": len(dropped), "sockets": [c.snapshot() for c in dropped]}

    return routes
