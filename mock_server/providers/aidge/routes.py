"""Aidge's gateway over HTTP: signature, timestamp window, app key, burst and quota checks, then
business validation with Aidge's own codes."""

from __future__ import annotations

from typing import Any

from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call, Incoming, ProviderApp, SpecBase
from bgmock.server.core.engine import Engine
from bgmock.server.providers.aidge import service, signing
from bgmock.server.providers.aidge.errors import (
    BUSINESS,
    GATEWAY,
    AidgeBusinessError,
    AidgeGatewayError,
    success,
)
from starlette.responses import Response

TIMESTAMP_WINDOW = 7200  # seconds (A2)


class AidgeSpec(SpecBase):
    name = service.PROVIDER

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def system(self, incoming: Incoming) -> dict[str, str]:
        """System parameters: the query string, or (IOP SDK form posts) the form body."""
        body = incoming.params if isinstance(incoming.params, dict) else {}
        return {**{k: v for k, v in body.items() if isinstance(v, str)}, **incoming.query}

    def key_of(self, incoming: Incoming) -> str | None:
        return self.system(incoming).get("app_key")

    def request_id(self) -> tuple[str, str]:
        """``requestId`` and the gateway's ``request_id``: drawn once per request (every
        answer, error or not, carries them)."""
        return service.request_ids(self.engine)

    def _gateway(self, incoming: Incoming | None, code: str) -> AidgeGatewayError:
        ids = incoming.request_id if incoming is not None else self.request_id()
        return AidgeGatewayError(code, ids[1])

    def authenticate(self, incoming: Incoming, engine: Engine) -> Account:
        system = self.system(incoming)
        account = engine.accounts.get(self.name, system.get("app_key") or "")
        if account is None:
            raise self._gateway(incoming, "InvalidAppKey")  # A16
        timestamp = system.get("timestamp", "")
        if not system.get("sign") or not timestamp:
            raise self._gateway(incoming, "IncompleteSignature")  # A16
        if not timestamp.isdigit() or abs(int(timestamp) / 1000 - engine.clock.now()) \
                > TIMESTAMP_WINDOW:
            raise self._gateway(incoming, "IllegalTimestamp")  # A2
        api_path = incoming.path.removeprefix("/rest")
        if not signing.verify(account.secret, api_path, system, incoming.params):
            raise self._gateway(incoming, "IncompleteSignature")  # A1
        if not engine.rates.allow(f"aidge/gateway/{account.key}", account.extra["burst"]):
            raise self._gateway(incoming, "ApiCallLimit")  # A21
        if not service.has_quota(account, service.is_trial(incoming.headers)):
            raise self._gateway(incoming, "NoResource")  # A5
        return account

    def violation(self, incoming: Incoming, problems: list[Any]) -> AidgeBusinessError:
        return AidgeBusinessError(700, incoming.request_id, _field(problems[0]))   # A6

    def malformed(self, incoming: Incoming) -> AidgeBusinessError:
        return AidgeBusinessError(700, incoming.request_id, "body")

    def injected(self, incoming: Incoming, code: str
                 ) -> AidgeGatewayError | AidgeBusinessError:
        if code in GATEWAY:
            return self._gateway(incoming, code)
        if code.isdigit() and int(code) in BUSINESS:
            return AidgeBusinessError(int(code), incoming.request_id)
        raise KeyError(code)

    def internal_error(self, incoming: Incoming) -> AidgeBusinessError:
        return AidgeBusinessError(500, incoming.request_id)

    def not_found(self, known_path: bool, path: str) -> AidgeGatewayError:
        return self._gateway(None, "InvalidApiPath")

    def render(self, call: Call, result: Any) -> Response:
        return success(result, call.request_id)


def _field(problem: Any) -> str:
    """The offending field's name for resMessage."""
    if problem.validator == "required":
        return str(problem.message).split("'")[1]
    if problem.absolute_path:
        return str(problem.absolute_path[0])
    if problem.validator == "anyOf":
        return "imageUrl or imageBase64"
    return "body"


def app(engine: Engine) -> ProviderApp:
    return ProviderApp(AidgeSpec(engine), engine, {"cut_out": service.cut_out})
