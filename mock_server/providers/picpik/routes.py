"""PICPIK's gateway: one ``POST /`` whose ``Action`` names the operation (K1, K4), the
signature (K3), the envelope with the request's ``Action`` and ``request_uuid`` (K5), and every
refusal as its RetCode (K6, K14)."""

from __future__ import annotations

from typing import Any

from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call, Incoming, ProviderApp, SpecBase
from bgmock.server.core.engine import Engine
from bgmock.server.providers.picpik import queries, service, signing
from bgmock.server.providers.picpik.errors import MESSAGES, PicpikError, success
from bgmock.server.providers.picpik.service import echo_of
from starlette.responses import Response

from bgmock import contracts

MiB = 1024 * 1024
BATCH_BODY_IMAGES = 2  # the body limit holds two images at the RawImage limit (D185)


class PicpikSpec(SpecBase):
    name = service.PROVIDER

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        encoded = -(-service.settings(engine).max_image_bytes // 3) * 4
        self.max_body_bytes = encoded * BATCH_BODY_IMAGES + MiB

    def request_id(self) -> str:
        """A ``request_uuid`` for answers to requests that carry none (D182)."""
        h = self.engine.ids.hex("picpik.request", 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def _echo(self, incoming: Incoming | None) -> Any:
        if incoming is None:
            return echo_of(None, self.request_id())
        return echo_of(incoming.params, incoming.request_id)

    def key_of(self, incoming: Incoming) -> str | None:
        body = incoming.params
        key = body.get("PublicKey") if isinstance(body, dict) else None
        return key if isinstance(key, str) and 0 < len(key) <= 256 else None

    def authenticate(self, incoming: Incoming, engine: Engine) -> Account:
        """Unknown PublicKey 172, no Signature 170, a wrong one 171 (K3, K6); a key whose
        signature checking is off skips both signature checks (K16, D180)."""
        params = incoming.params
        key = self.key_of(incoming)
        account = engine.accounts.get(self.name, key) if key is not None else None
        if account is None:
            raise PicpikError(172, self._echo(incoming))
        if not account.extra["check_signature"]:
            return account
        given = params.get("Signature", params.get("signature"))
        if not isinstance(given, str) or not given:
            raise PicpikError(170, self._echo(incoming))
        try:
            good = signing.verify(params, account.secret, given)
        except RecursionError:  # nested past what the signer can walk: not a parameter
            raise PicpikError(230, self._echo(incoming), "body") from None
        if not good:
            raise PicpikError(171, self._echo(incoming))
        return account

    def violation(self, incoming: Incoming, problems: list[Any]) -> PicpikError:
        """Missing -> 220, anything else -> 230, naming the parameter (K6)."""
        problem = problems[0]
        if problem.validator == "required":
            return PicpikError(220, self._echo(incoming), str(problem.message).split("'")[1])
        field = str(problem.absolute_path[0]) if problem.absolute_path else "body"
        return PicpikError(230, self._echo(incoming), field)

    def malformed(self, incoming: Incoming) -> PicpikError:
        return PicpikError(230, self._echo(incoming), "body")  # K14

    def injected(self, incoming: Incoming, code: str) -> PicpikError:
        """``error=<RetCode>``: any code of the sheet (D187); 220/230 name the action's first
        required parameter."""
        ret_code = int(code) if code.isdigit() and len(code) < 5 else 0
        if ret_code not in MESSAGES:
            raise KeyError(code)
        return PicpikError(ret_code, self._echo(incoming), _first_parameter(incoming.params))

    def internal_error(self, incoming: Incoming) -> PicpikError:
        return PicpikError(150, self._echo(incoming))  # D182

    def not_found(self, known_path: bool, path: str) -> PicpikError:
        """Another method on ``/``: HTTP 405 (K14); another path: HTTP 404 (D182)."""
        if known_path:
            return PicpikError(230, self._echo(None), "method", status=405)
        return PicpikError(161, self._echo(None), status=404)

    def unknown_operation(self, incoming: Incoming, params: Any, name: object) -> PicpikError:
        """No ``Action`` (or an empty one): 160; one the mock does not serve: 161 (K6)."""
        return PicpikError(160 if name in (None, "") else 161, self._echo(incoming))

    def render(self, call: Call, result: Any) -> Response:
        return success(service.echo(call), result)


def _first_parameter(params: Any) -> str:
    action = params.get("Action") if isinstance(params, dict) else None
    operation = service.OPERATIONS.get(action) if isinstance(action, str) else None
    if operation is None:
        return "Action"
    return contracts.load(service.PROVIDER, f"{operation}.request")["required"][-1]


def app(engine: Engine) -> ProviderApp:
    return ProviderApp(PicpikSpec(engine), engine, {
        "remove_background": service.remove_background,
        "remove_backgrounds_in_batch": service.remove_backgrounds_in_batch,
        "list_tasks_details": queries.list_tasks_details,
        "get_generate_task_detail": queries.get_generate_task_detail,
        "list_generate_task_detail": queries.list_generate_task_detail,
    })
