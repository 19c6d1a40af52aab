"""One operation's way through the mock, whatever carried it (an HTTP request, one item of a
JSON array, one WebSocket message):

fault rules + ``X-Mock-Fault`` -> latency -> auth -> contract validation (turned into the
provider's own error) -> injected error -> service handler -> :class:`Outcome`.

Which operation a request names, how outcomes become one answer and the journal are
:mod:`bgmock.server.core.dispatch`'s. Anything unexpected becomes the provider's internal error,
never a 500 with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bgmock.server.core.accounts import Account
from bgmock.server.core.edge import Headers, base_url
from bgmock.server.core.engine import Engine
from bgmock.server.core.faults import Fault
from bgmock.server.core.sessions import DEFAULT_RULES, Session, SocketRules
from starlette.requests import HTTPConnection
from starlette.responses import Response

from bgmock import contracts

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

log = logging.getLogger(__name__)


class ProviderError(Exception):
    """An answer in the provider's own error shape. ``code`` is what the journal records."""

    code: str = ""

    def response(self) -> Response:  # pragma: no cover - each provider overrides
        raise NotImplementedError


class ControlError(Exception):
    """A mistake in the mock's own controls (a bad ``X-Mock-Fault``): HTTP 400, named plainly."""


@dataclass(slots=True)
class Incoming:
    """What a provider may look at to identify and authenticate a request. ``params`` is the
    parsed input as sent (the whole body, for a request naming several operations; None when
    it could not be read: the error comes after auth). ``request_id`` is the provider's id for
    this request, drawn once by the pipeline (:meth:`SpecBase.request_id`); ``socket`` the
    WebSocket a message came on, ``session`` its connection's session (None for HTTP);
    ``drop``: a fault asked to drop that socket once this message is answered."""

    method: str
    path: str
    headers: Headers
    query: dict[str, str]
    params: Any
    request_id: Any = None
    key: str | None = None
    socket: WebSocket | None = None
    session: Session | None = None
    drop: bool = False


@dataclass(slots=True)
class Call:
    """One operation handed to a service handler. ``params`` is this operation's input (one
    item, where the request carries several); ``detail`` holds journal extras only."""

    request: HTTPConnection
    engine: Engine
    operation: str
    params: Any
    fault: Fault
    account: Account | None
    base_url: str
    detail: dict[str, Any] = field(default_factory=dict)
    incoming: Incoming | None = None
    request_id: Any = None


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(slots=True)
class Outcome:
    """What one operation came to: a ``result`` or an ``error``. ``operation`` is ``""`` when
    the request named none the provider has."""

    operation: str
    params: Any
    result: Any = None
    error: ProviderError | None = None
    call: Call | None = None
    fault: str = ""
    detail: dict[str, Any] | None = None

    @property
    def code(self) -> str:
        return self.error.code if self.error is not None else "ok"


class Spec(Protocol):
    """What a provider tells the pipeline about itself (:class:`SpecBase` has the defaults)."""

    name: str
    socket_rules: SocketRules

    def request_id(self) -> Any: ...
    def key_of(self, incoming: Incoming) -> str | None: ...
    def authenticate(self, incoming: Incoming, engine: Engine) -> Account: ...
    def violation(self, incoming: Incoming,
                  problems: list[contracts.ValidationError]) -> ProviderError: ...
    def malformed(self, incoming: Incoming) -> ProviderError: ...
    def injected(self, incoming: Incoming, code: str) -> ProviderError: ...  # KeyError: unknown
    def internal_error(self, incoming: Incoming) -> ProviderError: ...
    def not_found(self, known_path: bool, path: str) -> ProviderError: ...
    def unknown_operation(self, incoming: Incoming, params: Any, name: object
                          ) -> ProviderError: ...
    def render(self, call: Call, result: Any) -> Response: ...
    def render_many(self, incoming: Incoming, outcomes: list[Outcome]) -> Response: ...


class SpecBase:
    """Defaults for the hooks most providers do not need."""

    name: str
    # The largest body a request may carry; None: room for two images at the image limit
    # (a provider whose bodies carry no image bytes says less, D169).
    max_body_bytes: int | None = None
    # Its WebSocket rules: idle close, frame limit, resume (D200-D203).
    socket_rules: SocketRules = DEFAULT_RULES

    def request_id(self) -> Any:
        """The provider's id for one request (an error answer may carry it too); None: none."""
        return None

    def unknown_operation(self, incoming: Incoming, params: Any, name: object) -> ProviderError:
        """A request naming no operation the provider has (``name`` is what it named, or None
        when it named nothing)."""
        return self.not_found(True, incoming.path)  # type: ignore[attr-defined]

    def render_many(self, incoming: Incoming, outcomes: list[Outcome]) -> Response:
        """One answer for a request carrying several operations (each item of an array)."""
        raise NotImplementedError(f"{self.name} does not answer several operations at once")


@dataclass(frozen=True, slots=True)
class Bound:
    """An operation of ``operations.json`` with its handler."""

    name: str
    schema: str
    handler: Handler
    needs_auth: bool


async def perform(spec: Spec, engine: Engine, op: Bound, request: HTTPConnection,
                  incoming: Incoming, params: Any, unreadable: str | None,
                  header: Fault | None) -> Outcome:
    """Run one operation; a :class:`ControlError` propagates (the whole request is the mock's
    400), every other failure is the provider's error in the outcome."""
    outcome = Outcome(op.name, params)
    try:
        fault = engine.faults.resolve(spec.name, op.name, incoming.key, header, params)
        outcome.fault = fault.describe()
        if fault.drop:
            incoming.drop = True
        if fault.error:
            try:
                injected = spec.injected(incoming, fault.error)
            except KeyError as exc:
                raise ControlError(f"X-Mock-Fault: {spec.name} has no error code "
                                   f"{fault.error!r}") from exc
        if fault.delay:
            await engine.pause(fault.delay)  # ends early on shutdown
        account = spec.authenticate(incoming, engine) if op.needs_auth else None
        if unreadable is not None:
            outcome.detail = {"problem": unreadable}
            raise spec.malformed(incoming)
        problems = contracts.errors(spec.name, op.schema, params)
        if problems:
            outcome.detail = {"problem": problems[0].message}
            raise spec.violation(incoming, problems)
        if fault.error:
            raise injected
        call = Call(request, engine, op.name, params, fault, account,
                    base_url(request, engine, incoming.headers), {}, incoming,
                    incoming.request_id)
        outcome.result = await op.handler(call)
        outcome.call = call
    except ProviderError as exc:
        outcome.error = exc
    except ControlError:
        raise
    except Exception:
        log.exception("%s %s failed", spec.name, op.name)
        outcome.error = spec.internal_error(incoming)
    return outcome
