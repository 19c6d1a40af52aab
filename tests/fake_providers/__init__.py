"""Test-only providers (never served by default): the shapes PICPIK and Runware need, proven
on something small.

- ``actions``: one ``POST /`` whose body field ``Action`` names the operation (PICPIK-like);
  RetCode 160 when no Action, 161 for an unknown one.
- ``batch``: ``POST /v1`` and a WebSocket ``/v1`` carrying a JSON array whose items each name
  their ``taskType`` (Runware-like); one answer ``{"data": [...], "errors": [...]}``.
- ``wsecho``: a WebSocket ``/echo`` answering each JSON message with itself.
- ``wsession``: a WebSocket ``/v1`` like ``batch`` whose first task must be ``login`` (it sets
  the session's key; tasks before it get ``missingApiKey``), with an idle close after 60 mock
  seconds and answers kept 30 s for a ``login`` naming the old ``session`` (Runware-like).

Serve them with ``create_app(settings, providers=[*all_providers(), *fake_providers()])``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import (
    Call,
    Incoming,
    Outcome,
    ProviderApp,
    ProviderError,
    SpecBase,
)
from bgmock.server.core.engine import Engine
from bgmock.server.core.provider import Provider, ProviderBase
from bgmock.server.core.sessions import Resume, SocketRules
from starlette.responses import JSONResponse, Response

from bgmock import contracts

FOLDER = Path(__file__).parent / "contracts"
for _name in ("actions", "batch", "wsecho", "wsession"):
    contracts.register(_name, FOLDER / _name)

KEY, SECRET = "k1", "s3cret"


class Refusal(ProviderError):
    """An error as ``{"RetCode": n, "Message": ...}`` (actions) or one ``errors`` item (batch)."""

    def __init__(self, code: str, message: str, status: int = 200,
                 shape: str = "actions") -> None:
        self.code, self.message, self.status, self.shape = code, message, status, shape
        super().__init__(f"{code}: {message}")

    def item(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}

    def response(self) -> Response:
        if self.shape == "actions":
            return JSONResponse({"RetCode": int(self.code), "Message": self.message},
                                status_code=self.status)
        return JSONResponse({"errors": [self.item()]}, status_code=self.status)


def _bearer(incoming: Incoming, engine: Engine, provider: str) -> Account:
    token = incoming.headers.get("authorization", "").removeprefix("Bearer ").strip()
    account = engine.accounts.authenticate(provider, KEY, token)
    if account is None:
        raise Refusal("172", "User Not Exists") if provider == "actions" \
            else Refusal("invalidApiKey", "bad key", 401, "batch")
    return account


class _Spec(SpecBase):
    shape = "actions"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def request_id(self) -> str:
        return self.engine.ids.hex(f"{self.name}.request", 12)

    def key_of(self, incoming: Incoming) -> str | None:
        return KEY

    def authenticate(self, incoming: Incoming, engine: Engine) -> Account:
        return _bearer(incoming, engine, self.name)

    def _error(self, code: str, message: str, status: int = 200) -> Refusal:
        return Refusal(code, message, status, self.shape)

    def violation(self, incoming: Incoming, problems: list[Any]) -> Refusal:
        return self._error("230", "Params not available") if self.shape == "actions" \
            else self._error("invalidParameter", problems[0].message[:80], 400)

    def malformed(self, incoming: Incoming) -> Refusal:
        return self._error("230", "Params [body] not available") if self.shape == "actions" \
            else self._error("invalidPayload", "not a JSON array of tasks", 400)

    def injected(self, incoming: Incoming, code: str) -> Refusal:
        if code not in ("153", "busy"):
            raise KeyError(code)
        return self._error(code, "injected", 200 if self.shape == "actions" else 503)

    def internal_error(self, incoming: Incoming) -> Refusal:
        return self._error("500", "internal")

    def not_found(self, known_path: bool, path: str) -> Refusal:
        return self._error("405" if known_path else "404", "no route",
                           405 if known_path else 404)


class ActionsSpec(_Spec):
    name = "actions"

    def unknown_operation(self, incoming: Incoming, params: Any, name: object) -> Refusal:
        if name is None:
            return Refusal("160", "Missing Action")
        return Refusal("161", f"Action {str(name)[:40]!r} does not exist")

    def render(self, call: Call, result: Any) -> Response:
        return JSONResponse({"RetCode": 0, "Action": call.params["Action"], "Message": "",
                             "RequestId": call.request_id, **result})


class BatchSpec(_Spec):
    name = "batch"
    shape = "batch"

    def unknown_operation(self, incoming: Incoming, params: Any, name: object) -> Refusal:
        return Refusal("unsupportedTaskType", f"task type {str(name)[:40]!r}", 400, "batch")

    def render(self, call: Call, result: Any) -> Response:  # pragma: no cover - items only
        raise NotImplementedError

    def render_many(self, incoming: Incoming, outcomes: list[Outcome]) -> Response:
        data, errors, status = [], [], 0
        for outcome in outcomes:
            task = outcome.params if isinstance(outcome.params, dict) else {}
            ids = {k: task[k] for k in ("taskType", "taskUUID")
                   if isinstance(task.get(k), str)}
            if outcome.error is None:
                data.append({**ids, **outcome.result})
            else:
                assert isinstance(outcome.error, Refusal)
                errors.append({**outcome.error.item(), **ids})
                status = status or outcome.error.status
        body: dict[str, Any] = {"data": data} if data else {}
        if errors:
            body["errors"] = errors
        return JSONResponse(body, status_code=200 if data else status)


class SessionRules(SocketRules):
    idle_seconds, resume_seconds, max_inflight = 60.0, 30.0, 4

    def resume(self, params: Any) -> Resume | None:
        first = params[0] if isinstance(params, list) and params else None
        if isinstance(first, dict) and first.get("taskType") == "login" \
                and isinstance(first.get("session"), str) and first.get("apiKey") == SECRET:
            return Resume(first["session"], KEY)
        return None


class SessionSpec(BatchSpec):
    name = "wsession"
    socket_rules = SessionRules()

    def authenticate(self, incoming: Incoming, engine: Engine) -> Account:
        session = incoming.session
        account = engine.accounts.get(self.name, session.key) \
            if session is not None and session.key else None
        if account is None:
            raise Refusal("missingApiKey", "log in first", 401, "batch")
        return account


async def login(call: Call) -> dict[str, Any]:
    session = call.incoming.session if call.incoming is not None else None
    if session is None or call.params["apiKey"] != SECRET:
        raise Refusal("invalidApiKey", "bad key", 401, "batch")
    session.key = KEY
    return {"session": session.id}


async def pong(call: Call) -> dict[str, Any]:
    return {"pong": True}


class WsEchoSpec(_Spec):
    name = "wsecho"
    shape = "wsecho"

    def malformed(self, incoming: Incoming) -> Refusal:
        return Refusal("notJson", "a message must be a JSON object", 200, "batch")

    def violation(self, incoming: Incoming, problems: list[Any]) -> Refusal:
        return Refusal("invalid", problems[0].message[:80], 200, "batch")

    def render(self, call: Call, result: Any) -> Response:
        return JSONResponse({"echo": result, "requestId": call.request_id})


async def echo(call: Call) -> dict[str, Any]:
    text = call.params.get("Text", call.params.get("text"))
    if text == "boom":
        raise RuntimeError("a handler bug")  # becomes the provider's internal error
    call.detail["echoed"] = len(text)
    return {"Text": text} if "Text" in call.params else {"text": text}


async def add(call: Call) -> dict[str, Any]:
    p = call.params
    return {"Sum": p["A"] + p["B"]} if "A" in p else {"sum": p["a"] + p["b"]}


async def echo_message(call: Call) -> Any:
    return call.params


class _Fake(ProviderBase):
    spec: type[_Spec]
    handlers: dict[str, Any]
    public: tuple[str, ...] = ()

    def seed(self, engine: Engine) -> None:
        engine.accounts.add(Account(self.name, KEY, SECRET))

    def app(self, engine: Engine) -> ProviderApp:
        return ProviderApp(self.spec(engine), engine, self.handlers, self.public)


class Actions(_Fake):
    name, prefix, spec = "actions", "/actions", ActionsSpec
    handlers = {"echo": echo, "add": add}


class Batch(_Fake):
    name, prefix, spec = "batch", "/batch", BatchSpec
    hosts = ("api.batch.test",)
    handlers = {"echo": echo, "add": add}


class WsEcho(_Fake):
    name, prefix, spec = "wsecho", "/wsecho", WsEchoSpec
    hosts = ("ws.echo.test",)
    handlers = {"echo": echo_message}
    public = ("echo",)


class WsSession(_Fake):
    name, prefix, spec = "wsession", "/wsession", SessionSpec
    handlers = {"login": login, "ping": pong, "echo": echo}
    public = ("login", "ping")


def fake_providers() -> list[Provider]:
    return [Actions(), Batch(), WsEcho(), WsSession()]
