"""Runware over REST and WebSocket: who is calling (bearer header, a leading ``authentication``
task, or the socket's session), its errors as Runware's error objects, one answer
``{"data": [...], "errors": [...]}`` for the whole array (R9, R23), and the result files under
``/image/ii/`` (R18)."""

from __future__ import annotations

from typing import Any

from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import (
    FastJSONResponse,
    Incoming,
    Outcome,
    ProviderApp,
    SpecBase,
)
from bgmock.server.core.engine import Engine
from bgmock.server.providers.runware import errors, images, service
from bgmock.server.providers.runware.images import PROVIDER
from bgmock.server.providers.runware.socket import RULES
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

LIMIT_WORDS = {"maximum": "at most", "exclusiveMaximum": "below", "maxItems": "at most",
               "maxLength": "at most", "maxProperties": "at most", "minimum": "at least",
               "exclusiveMinimum": "above", "minItems": "at least", "minLength": "at least"}
TOO_LARGE = ("maximum", "exclusiveMaximum", "maxItems", "maxLength", "maxProperties")
TOO_SMALL = ("minimum", "exclusiveMinimum", "minItems", "minLength")


class RunwareSpec(SpecBase):
    name = PROVIDER
    socket_rules = RULES  # idle close, resume, 30 MiB frames (R3, R4; D206)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # A WebSocket frame may carry an upload of up to the image limit as base64 (R4).
        self.max_body_bytes = max(engine.settings.max_image_bytes * 2 + 1024 * 1024,
                                  30 * 1024 * 1024)

    def key_of(self, incoming: Incoming) -> str | None:
        """The socket's key; on REST a leading authentication task's, else the bearer's."""
        if incoming.session is not None:
            return incoming.session.key
        items = incoming.params
        if isinstance(items, list) and items and isinstance(items[0], dict) \
                and items[0].get("taskType") == "authentication":
            key = items[0].get("apiKey")
            return key if isinstance(key, str) else None
        header = incoming.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    def authenticate(self, incoming: Incoming, engine: Engine) -> Account:
        key = incoming.session.key if incoming.session is not None else incoming.key
        if not key:
            raise errors.MissingApiKey()
        account = engine.accounts.get(PROVIDER, key)
        if account is None:
            raise errors.InvalidApiKey()
        return account

    def violation(self, incoming: Incoming, problems: list[Any]) -> errors.RunwareError:
        return refusal(problems[0])

    def malformed(self, incoming: Incoming) -> errors.RunwareError:
        return errors.InvalidPayload()

    def unknown_operation(self, incoming: Incoming, params: Any,
                          name: object) -> errors.RunwareError:
        if not isinstance(params, dict):
            return errors.InvalidPayload("Each task must be a JSON object with a taskType.")
        if name is None:
            return errors.MissingParameter("taskType")
        if not isinstance(name, str):
            return errors.InvalidParameter("taskType", type="string")
        shown = name if len(name) <= 64 else name[:64] + "..."
        return errors.UnsupportedTaskType(f"Unsupported taskType: {shown}.",
                                          parameter="taskType", type="string")

    def injected(self, incoming: Incoming, code: str) -> errors.RunwareError:
        return errors.INJECTABLE[code]()  # KeyError: not a code the mock can inject

    def internal_error(self, incoming: Incoming) -> errors.RunwareError:
        return errors.InternalServerError()

    def not_found(self, known_path: bool, path: str) -> errors.RunwareError:
        if known_path:
            return errors.NotFound(405, "Method not allowed: send POST with a JSON array.")
        return errors.NotFound(404, "Not found.")

    def render(self, call: Any, result: Any) -> Response:  # pragma: no cover - items only
        raise NotImplementedError

    def render_many(self, incoming: Incoming, outcomes: list[Outcome]) -> Response:
        """``{"data": [...], "errors": [...]}``: 200 when any task succeeded, else the first
        error's status (R9); no item for a REST authentication task (R23)."""
        data: list[Any] = []
        found: list[dict[str, Any]] = []
        status = 0
        for outcome in outcomes:
            if outcome.error is None:
                if outcome.result is not None:
                    data.append(outcome.result)
                continue
            error = outcome.error
            if not isinstance(error, errors.RunwareError):  # pragma: no cover - defensive
                error = errors.InternalServerError()
            found.append(error.item(outcome.params))
            status = status or error.status
        body: dict[str, Any] = {"data": data} if data or not found else {}
        if found:
            body["errors"] = found
        return FastJSONResponse(body, status_code=200 if data or not found else status)


def _parameter(problem: Any) -> str:
    """The dotted path of the offending field (list positions left out: ``rgba``)."""
    return ".".join(str(p) for p in problem.absolute_path if isinstance(p, str))


def _expected_type(problem: Any) -> str | None:
    schema = problem.schema if isinstance(problem.schema, dict) else {}
    kind = schema.get("type")
    if problem.validator == "type":
        kind = problem.validator_value
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind is None and ("enum" in schema or "pattern" in schema):
        kind = "string"
    return kind if isinstance(kind, str) else None


def refusal(problem: Any) -> errors.RunwareError:
    """A contract violation as Runware's own error (R8, R24; D192)."""
    validator, path = problem.validator, _parameter(problem)
    if validator == "required":
        field = str(problem.message).split("'")[1]
        name = f"{path}.{field}" if path else field
        if name == "apiKey":
            return errors.MissingApiKey(parameter="apiKey", type="string")
        return errors.MissingParameter(name, type=None)
    if validator == "additionalProperties":
        extra = sorted(set(problem.instance) - set(problem.schema.get("properties", {})))
        name = f"{path}.{extra[0]}" if path and extra else (extra[0] if extra else path)
        return errors.UnknownParameter(f"Unknown parameter: {name[:100]}.",
                                       parameter=name[:100])
    kind = _expected_type(problem)
    if path == "taskUUID" and validator in ("pattern", "type"):
        return errors.InvalidTaskUUID(parameter="taskUUID", type="string")
    if validator in TOO_LARGE or validator in TOO_SMALL:
        cls = errors.ValueTooLarge if validator in TOO_LARGE else errors.ValueTooSmall
        if validator == "minLength" and problem.validator_value == 1:
            return errors.MissingParameter(path, type=kind)
        return cls(f"Invalid value for {path} parameter. It must be "
                   f"{LIMIT_WORDS[validator]} {problem.validator_value}.", parameter=path,
                   type=kind)
    extra: dict[str, Any] = {}
    if validator == "enum":
        extra["allowedValues"] = list(problem.validator_value)
    return errors.InvalidParameter(path or "task", type=kind, extra=extra)


class RunwareApp(ProviderApp):
    """The task routes plus ``GET /image/ii/<imageUUID>.<ext>`` (stored images, R18)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if scope["type"] == "http" and path.startswith(images.IMAGE_PATH):
            if scope["method"] in ("GET", "HEAD"):
                response = await images.download(self.engine, path, scope["query_string"])
            else:
                response = FastJSONResponse({"error": "Method Not Allowed"}, status_code=405,
                                            headers={"Allow": "GET, HEAD"})
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send, path)


def app(engine: Engine) -> RunwareApp:
    return RunwareApp(RunwareSpec(engine), engine, service.HANDLERS, service.PUBLIC)
