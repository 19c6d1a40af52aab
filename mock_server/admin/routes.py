"""``/__admin``: one handler per action (health, reset, clock, faults, journal, tasks, accounts).

Documented in the README and served as OpenAPI at ``/__admin/openapi.json``. When
``admin_token`` is set every call needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, Field

from mock_server import __version__
from mock_server.admin import remote
from mock_server.admin.health import health_report, token_ok
from mock_server.core.engine import Engine
from mock_server.core.faults import FaultSyntaxError, parse
from mock_server.core.files import FileStore


class Advance(BaseModel):
    seconds: float = Field(ge=0, description="How far to move the mock clock forward")


class FaultRuleIn(BaseModel):
    provider: str = Field(description="Provider name, e.g. topview")
    operation: str = Field("*", description="Operation name from the provider's contracts, "
                                            "or * for every operation")
    fault: str = Field(description="Directives as in X-Mock-Fault, e.g. error=4100;delay=0.5")
    key: str | None = Field(None, description="Only requests of this account key (Topview-Uid)")
    count: int | None = Field(None, ge=1, description="Apply to this many requests (default: "
                                                      "until deleted)")
    probability: float | None = Field(None, description="Chance (0..1) that the rule fires for a "
                                      "matching request; one that does not fire keeps its count")
    latency: str | None = Field(None, description="Answer latency in seconds, fixed (0.2) or "
                                "drawn uniformly from a range (0.05..0.5); max 60")

    def directives(self) -> str:
        """The fault text with the probability and latency fields as directives."""
        if self.latency is not None and ";" in self.latency:
            raise FaultSyntaxError("latency: seconds (0.2) or a range (0.05..0.5)")
        extra = [f"probability={self.probability!r}"] if self.probability is not None else []
        extra += [f"delay={self.latency}"] if self.latency is not None else []
        return ";".join([self.fault, *extra])


class AccountIn(BaseModel):
    secret: str | None = Field(None, description="API key / secret (required for a new account)")
    credits: float | None = None
    concurrency: int | None = Field(None, ge=0, description="Unfinished tasks allowed at once")
    extra: dict[str, Any] | None = None


def create_admin(engine: Engine) -> FastAPI:
    def guard(request: Request) -> None:
        if not token_ok(engine, request.headers.get("authorization")):
            raise HTTPException(401, "admin token required")

    admin = FastAPI(title="bgmock admin API", version=__version__,
                    description="Control plane of the bgmock provider mock.",
                    dependencies=[Depends(guard)])
    providers = {p.name for p in engine.providers}

    def known_provider(name: str) -> str:
        if name not in providers:
            raise HTTPException(404, f"unknown provider {name!r}")
        return name

    @admin.get("/health", summary="Liveness and what is served")
    async def health() -> dict[str, Any]:
        return health_report(engine)

    @admin.post("/reset", summary="Back to the fresh state (docs' fixtures included)")
    async def reset() -> dict[str, Any]:
        engine.reset()
        return {"status": "reset", "clock": engine.clock.snapshot()}

    @admin.get("/clock", summary="The mock clock")
    async def clock() -> dict[str, Any]:
        return engine.clock.snapshot()

    @admin.post("/clock/advance", summary="Move the mock clock forward (any clock mode)")
    async def advance(body: Advance) -> dict[str, Any]:
        engine.clock.advance(body.seconds)
        return engine.clock.snapshot()

    @admin.get("/faults", summary="Fault rules")
    async def faults() -> list[dict[str, Any]]:
        return [rule.snapshot() for rule in engine.faults.rules]

    @admin.post("/faults", status_code=201, summary="Add a fault rule")
    async def add_fault(body: FaultRuleIn) -> dict[str, Any]:
        known_provider(body.provider)
        try:
            fault = parse(body.directives())
        except FaultSyntaxError as exc:
            raise HTTPException(400, str(exc)) from exc
        if fault.is_empty:
            raise HTTPException(400, "fault has no directive")
        return engine.faults.add(body.provider, body.operation, fault, body.key,
                                 body.count).snapshot()

    @admin.delete("/faults", summary="Remove every fault rule")
    async def clear_faults() -> dict[str, Any]:
        engine.faults.clear()
        return {"status": "cleared"}

    @admin.delete("/faults/{rule_id}", summary="Remove one fault rule")
    async def remove_fault(rule_id: int) -> dict[str, Any]:
        if not engine.faults.remove(rule_id):
            raise HTTPException(404, f"no fault rule {rule_id}")
        return {"status": "removed", "id": rule_id}

    @admin.get("/journal", summary="Requests answered, oldest first")
    async def journal(provider: str | None = None, operation: str | None = None,
                      limit: int | None = Query(None, ge=1)) -> list[dict[str, Any]]:
        return engine.journal.entries(provider, operation, limit)

    @admin.delete("/journal", summary="Empty the journal")
    async def clear_journal() -> dict[str, Any]:
        engine.journal.clear()
        return {"status": "cleared"}

    @admin.get("/tasks", summary="Tasks, with their state now")
    async def tasks(provider: str | None = None, status: str | None = None
                    ) -> list[dict[str, Any]]:
        found = []
        for task in engine.tasks.select(provider):
            await engine.tasks.observe(task)
            if status is None or task.status == status:
                found.append(task.snapshot())
        return found

    @admin.get("/tasks/{task_id}", summary="One task")
    async def task(task_id: str) -> dict[str, Any]:
        found = engine.tasks.get(task_id)
        if found is None:
            raise HTTPException(404, f"no task {task_id}")
        await engine.tasks.observe(found)
        return found.snapshot()

    @admin.get("/files/evictions", summary="Stored objects the byte cap evicted, newest last "
                                           "(their URLs answer like expired ones)")
    async def evictions(limit: int = Query(100, ge=1, le=FileStore.TOMBSTONES)
                        ) -> list[dict[str, Any]]:
        return [e.snapshot() for e in engine.files.evictions(limit)]

    @admin.get("/accounts", summary="Every account")
    async def accounts() -> list[dict[str, Any]]:
        await engine.tasks.catch_up()
        return [a.snapshot() for a in engine.accounts.select()]

    @admin.get("/accounts/{provider}", summary="A provider's accounts")
    async def provider_accounts(provider: str) -> list[dict[str, Any]]:
        await engine.tasks.catch_up(known_provider(provider))
        return [a.snapshot() for a in engine.accounts.select(known_provider(provider))]

    @admin.get("/accounts/{provider}/{key}", summary="One account")
    async def account(provider: str, key: str) -> dict[str, Any]:
        await engine.tasks.catch_up(known_provider(provider), key)
        found = engine.accounts.get(known_provider(provider), key)
        if found is None:
            raise HTTPException(404, f"no {provider} account {key!r}")
        return found.snapshot()

    @admin.put("/accounts/{provider}/{key}", summary="Create an account or change credits, "
                                                    "limits or secret")
    async def put_account(provider: str, key: str, body: AccountIn) -> dict[str, Any]:
        changes = body.model_dump(exclude_none=True)
        try:
            return engine.accounts.upsert(known_provider(provider), key, changes).snapshot()
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc

    admin.include_router(remote.router(engine))
    return admin
