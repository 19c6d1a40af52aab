"""``/__admin``: one handler per action (health, reset, clock, faults, journal, tasks, accounts).

Documented in the README and served as OpenAPI at ``/__admin/openapi.json``. When
``admin_token`` is set every call needs ``Authorization: Bearer <token>``.

Every input is checked (type, range, length, encodable text) before anything changes; a refusal
is a ``400`` (``404`` for an unknown path resource) with a short ``detail`` that never echoes
the input at length.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from bgmock.server import __version__
from bgmock.server.admin import remote, webhooks, websockets
from bgmock.server.admin.health import health_report, token_ok
from bgmock.server.core.accounts import MAX_CONCURRENCY, MAX_CREDITS, MAX_KEY, MAX_SECRET
from bgmock.server.core.clock import MAX_ADVANCE
from bgmock.server.core.engine import Engine
from bgmock.server.core.faults import FaultSyntaxError, parse
from bgmock.server.core.files import FileStore
from bgmock.server.core.httputil import allow_header
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from bgmock import contracts

MAX_FAULT_TEXT = 1000
MAX_RULES = 1000          # fault rules held at once
MAX_COUNT = 10**9         # a rule's count
MAX_JOURNAL_LIMIT = 10**6
MAX_TASKS_LIMIT = 10**6
MAX_NAME = 100            # provider / operation names
DETAIL_LIMIT = 200        # characters per problem in a 400's detail
MAX_PROBLEMS = 5


def clip(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` shortened to ``limit`` characters, with unencodable characters escaped."""
    text = text[:limit + 1].encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _flat(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, also those of included routers (FastAPI may include a router lazily)."""
    for route in routes:
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        if inner is not None:
            yield from _flat(inner)
        else:
            yield route


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return text


# Strings that can be stored and echoed back: bounded length, encodable.
Name = Annotated[str, Field(max_length=MAX_NAME), AfterValidator(_encodable)]
FaultText = Annotated[str, Field(max_length=MAX_FAULT_TEXT), AfterValidator(_encodable)]
Key = Annotated[str, Field(min_length=1, max_length=MAX_KEY), AfterValidator(_encodable)]
Secret = Annotated[str, Field(min_length=1, max_length=MAX_SECRET), AfterValidator(_encodable)]


class Strict(BaseModel):
    """JSON types as written (``false`` is no number, ``"1"`` no integer); unknown fields are
    errors, so a typo never passes silently."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Advance(Strict):
    seconds: float = Field(ge=0, le=MAX_ADVANCE, allow_inf_nan=False,
                           description="How far to move the mock clock forward (at most 100 "
                                       "years per call; the clock stops before year 9000)")


class FaultRuleIn(Strict):
    provider: Name = Field(description="Provider name, e.g. topview")
    operation: Name = Field("*", description="Operation name from the provider's contracts, "
                                             "or * for every operation")
    fault: FaultText = Field(description="Directives as in X-Mock-Fault, e.g. "
                                         "error=4100;delay=0.5")
    key: Key | None = Field(None, description="Only requests of this account key "
                                              "(Topview-Uid, Aidge app_key)")
    count: int | None = Field(None, ge=1, le=MAX_COUNT,
                              description="Apply to this many requests (default: until deleted)")
    match: dict[Name, Name] | None = Field(
        None, max_length=8, description="Only operations whose input has these top-level fields "
        "with exactly these string values (Runware: one task of the array, e.g. "
        "{\"taskUUID\": \"...\"})")
    probability: float | None = Field(None, ge=0, le=1, allow_inf_nan=False,
                                      description="Chance (0..1) that the rule fires for a "
                                      "matching request; one that does not fire keeps its count")
    latency: FaultText | None = Field(None, description="Answer latency in seconds, fixed (0.2) "
                                      "or drawn uniformly from a range (0.05..0.5); max 60")

    def directives(self) -> str:
        """The fault text with the probability and latency fields as directives."""
        if self.latency is not None and ";" in self.latency:
            raise FaultSyntaxError("latency: seconds (0.2) or a range (0.05..0.5)")
        extra = [f"probability={self.probability!r}"] if self.probability is not None else []
        extra += [f"delay={self.latency}"] if self.latency is not None else []
        return ";".join([self.fault, *extra])


class AccountIn(Strict):
    secret: Secret | None = Field(
        None, description="API key / secret (required for a new account): visible ASCII")
    credits: float | None = Field(None, ge=0, le=MAX_CREDITS, allow_inf_nan=False)
    concurrency: int | None = Field(None, ge=0, le=MAX_CONCURRENCY,
                                    description="Unfinished tasks allowed at once")
    extra: dict[Name, int | None] | None = Field(
        None, description="Provider limits (Aidge: trial_quota, quota, qps, burst)")


class AdminError(BaseModel):
    detail: str = Field(description="What was wrong, in short")


def _error(description: str) -> dict[str, Any]:
    return {"model": AdminError, "description": description}


BAD_INPUT = {400: _error("Bad input: wrong type, out of range, too long, unknown name")}
NOT_FOUND = {404: _error("No such provider, task, account or rule")}


def create_admin(engine: Engine) -> FastAPI:
    def guard(request: Request) -> None:
        if not token_ok(engine, request.headers.get("authorization")):
            raise HTTPException(401, "admin token required")

    admin = FastAPI(title="bgmock admin API", version=__version__,
                    description="Control plane of the bgmock provider mock.",
                    dependencies=[Depends(guard)],
                    # no 307 to `path/`: under a provider's Host it would lead off the mock
                    redirect_slashes=False,
                    responses={401: _error("Admin token missing or wrong"),
                               413: _error("Request body over 1 MiB")})
    providers = {p.name: p for p in engine.providers}

    def known_provider(name: str) -> str:
        if name not in providers:
            raise HTTPException(404, f"unknown provider {name!r}")
        return name

    def provider_field(name: str | None) -> None:
        """A provider named in a body or query: 400 when it is not served."""
        if name is not None and name not in providers:
            raise HTTPException(400, f"unknown provider {name!r} "
                                     f"(one of {', '.join(sorted(providers))})")

    @admin.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422 echoes the whole input; answer 400 with location and message."""
        problems = []
        for error in exc.errors()[:MAX_PROBLEMS]:
            where = ".".join(clip(str(part), 40) for part in error.get("loc", ()))
            problems.append(clip(f"{where}: {error.get('msg', 'invalid')}"))
        return JSONResponse({"detail": "; ".join(problems) or "invalid request"},
                            status_code=400)

    @admin.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            methods = {m for route in _flat(admin.routes) if getattr(route, "methods", None)
                       and route.matches(request.scope)[0] != Match.NONE
                       for m in route.methods}  # type: ignore[attr-defined]
            headers["Allow"] = allow_header(methods)
        return JSONResponse({"detail": clip(str(exc.detail))}, status_code=exc.status_code,
                            headers=headers)

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

    @admin.post("/clock/advance", responses=BAD_INPUT,
                summary="Move the mock clock forward (any clock mode); returns after the tasks "
                        "due by then finished and expired records went")
    async def advance(body: Advance) -> dict[str, Any]:
        """Returns once what fell due ran: tasks finished (listeners told), records expired,
        in due-time order (D91)."""
        try:
            await engine.scheduler.advance(body.seconds)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return engine.clock.snapshot()

    @admin.get("/faults", summary="Fault rules")
    async def faults() -> list[dict[str, Any]]:
        return [rule.snapshot() for rule in engine.faults.rules]

    @admin.post("/faults", status_code=201, summary="Add a fault rule", responses=BAD_INPUT)
    async def add_fault(body: FaultRuleIn) -> dict[str, Any]:
        provider_field(body.provider)
        operations = contracts.operations(body.provider)["operations"]
        if body.operation != "*" and body.operation not in operations:
            raise HTTPException(400, f"{body.provider} has no operation {body.operation!r} "
                                     f"(one of *, {', '.join(sorted(operations))})")
        try:
            fault = parse(body.directives())
        except FaultSyntaxError as exc:
            raise HTTPException(400, str(exc)) from exc
        if fault.is_empty:
            raise HTTPException(400, "fault has no directive")
        if len(engine.faults.rules) >= MAX_RULES:
            raise HTTPException(400, f"too many fault rules (at most {MAX_RULES})")
        return engine.faults.add(body.provider, body.operation, fault, body.key,
                                 body.count, body.match).snapshot()

    @admin.delete("/faults", summary="Remove every fault rule")
    async def clear_faults() -> dict[str, Any]:
        engine.faults.clear()
        return {"status": "cleared"}

    @admin.delete("/faults/{rule_id}", summary="Remove one fault rule",
                  responses={**BAD_INPUT, **NOT_FOUND})
    async def remove_fault(rule_id: int) -> dict[str, Any]:
        if not engine.faults.remove(rule_id):
            raise HTTPException(404, f"no fault rule {rule_id}")
        return {"status": "removed", "id": rule_id}

    @admin.get("/journal", summary="Requests answered, oldest first", responses=BAD_INPUT)
    async def journal(provider: str | None = None, operation: str | None = None,
                      limit: int | None = Query(None, ge=1, le=MAX_JOURNAL_LIMIT)
                      ) -> list[dict[str, Any]]:
        provider_field(provider)
        return engine.journal.entries(provider, operation, limit)

    @admin.delete("/journal", summary="Empty the journal")
    async def clear_journal() -> dict[str, Any]:
        engine.journal.clear()
        return {"status": "cleared"}

    @admin.get("/tasks", summary="Tasks, with their state now", responses=BAD_INPUT)
    async def tasks(provider: str | None = None, status: str | None = None,
                    limit: int = Query(1000, ge=1, le=MAX_TASKS_LIMIT,
                                       description="The newest this many (default 1000)")
                    ) -> list[dict[str, Any]]:
        provider_field(provider)
        found = []
        for task in engine.tasks.select(provider):
            await engine.tasks.observe(task)
            if status is None or task.status == status:
                found.append(task)
        return [task.snapshot() for task in found[-limit:]]

    @admin.get("/tasks/{task_id}", summary="One task", responses=NOT_FOUND)
    async def task(task_id: str) -> dict[str, Any]:
        found = engine.tasks.get(task_id)
        if found is None:
            raise HTTPException(404, f"no task {task_id!r}")
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

    @admin.get("/accounts/{provider}", summary="A provider's accounts", responses=NOT_FOUND)
    async def provider_accounts(provider: str) -> list[dict[str, Any]]:
        await engine.tasks.catch_up(known_provider(provider))
        return [a.snapshot() for a in engine.accounts.select(known_provider(provider))]

    @admin.get("/accounts/{provider}/{key}", summary="One account", responses=NOT_FOUND)
    async def account(provider: str, key: str) -> dict[str, Any]:
        await engine.tasks.catch_up(known_provider(provider), key)
        found = engine.accounts.get(known_provider(provider), key)
        if found is None:
            raise HTTPException(404, f"no {provider} account {key!r}")
        return found.snapshot()

    @admin.put("/accounts/{provider}/{key}", responses={**BAD_INPUT, **NOT_FOUND},
               summary="Create an account or change credits, limits or secret")
    async def put_account(provider: str, body: AccountIn,
                          key: str = Path(min_length=1, max_length=MAX_KEY)) -> dict[str, Any]:
        served = providers[known_provider(provider)]
        changes = {k: v for k, v in body.model_dump().items() if v is not None}
        try:
            return engine.accounts.upsert(
                provider, key, changes, served.limits,
                lambda new_key, secret: served.new_account(engine, new_key, secret)).snapshot()
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc

    admin.include_router(remote.router(engine))
    admin.include_router(webhooks.router(engine, BAD_INPUT, NOT_FOUND))
    admin.include_router(websockets.router(engine, BAD_INPUT))

    def openapi() -> dict[str, Any]:
        """FastAPI's document without the 422 this API never answers (it answers 400)."""
        if admin.openapi_schema is None:
            schema = FastAPI.openapi(admin)
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            admin.openapi_schema = schema
        return admin.openapi_schema

    admin.openapi = openapi  # type: ignore[method-assign]
    return admin
