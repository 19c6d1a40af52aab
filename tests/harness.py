"""The provider-neutral test harness: reach the mock in-process or over the wire, call a
provider's operations by name, and check every answer against the contracts.

A provider plugs in with a :class:`Target` subclass in its own helper module
(``tests/<provider>_calls.py``): its name, its auth hook (:meth:`Target.credentials`) and any
flows worth naming; ``conftest.py`` then makes a fixture of it with :func:`target_fixture`,
which runs every test using it once per mode in :data:`MODES`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
from bgmock.server.testing import InProcessMock, MockControls, MockServer

from bgmock import contracts
from tests.recording import Check, is_storage

MODES = ("inprocess", "server")
T = TypeVar("T", bound="Target")


def answer(provider: str, operation: str | None, response: httpx.Response) -> dict[str, Any]:
    """The JSON body, checked against whichever of the provider's answers it is."""
    body = response.json()
    contracts.check_response(provider, operation, body)
    return body


@dataclass
class Target:
    """One way of reaching the mock: an httpx client rooted at it, its admin controls and its
    engine; a subclass names the provider and signs its calls."""

    mode: str
    http: httpx.Client
    controls: MockControls
    engine: Any
    provider: ClassVar[str] = ""

    def credentials(self) -> dict[str, Any]:
        """The auth hook: default request arguments (``headers``, ``params``) that make a call
        authentic. An argument the caller gives replaces the default of that name."""
        return {}

    def view(self, kind: type[T]) -> T:
        """The same mock and client, seen as another provider's target."""
        return kind(self.mode, self.http, self.controls, self.engine)

    @property
    def prefix(self) -> str:
        """Where the mock mounts the provider."""
        return f"/{self.provider}"

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, **{**self.credentials(), **kw})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def answer(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        return answer(self.provider, operation, response)

    def call(self, operation: str, method: str | None = None, **kw: Any) -> dict[str, Any]:
        """Call an operation by its contract name (``method`` for one with several); the
        checked body."""
        op = contracts.operations(self.provider)["operations"][operation]
        method = method or op.get("method") or op["methods"][0]
        return self.answer(operation, self.request(method, self.prefix + op["path"], **kw))


@contextlib.contextmanager
def reach(mode: str, request: pytest.FixtureRequest) -> Iterator[tuple[httpx.Client, Any]]:
    """An httpx client rooted at the mock, and the mock's controls: a fresh in-process mock, or
    the session's server on a port (reset before each test by ``bgmock_server``)."""
    if mode == "inprocess":
        mock = InProcessMock()
        try:
            with mock.client() as http:
                yield http, mock
        finally:
            mock.close()
    else:
        server: MockServer = request.getfixturevalue("bgmock_server")
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            yield http, server


def target_fixture(kind: type[T], name: str) -> Callable[..., Iterator[T]]:
    """A fixture ``name`` giving a ``kind`` target, once per mode."""

    @pytest.fixture(name=name, params=MODES)
    def fixture(request: pytest.FixtureRequest) -> Iterator[T]:
        with reach(request.param, request) as (http, controls):
            yield kind(request.param, http, controls, controls.engine)

    return fixture


@contextlib.contextmanager
def served(mock: Any) -> Iterator[str]:
    """``mock`` (an app from ``create_app``) on a free loopback port with `bgmock serve`'s
    protocol and limits, uvicorn in a thread; yields ``host:port``."""
    from bgmock.server import server as serving
    from bgmock.server.settings import Settings
    from bgmock.server.testing import free_port

    config = serving.config(mock, Settings(log_level="warning"))
    config.host, config.port, config.lifespan = "127.0.0.1", free_port(), "off"
    uv = serving.Server(config, mock.state.engine)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"127.0.0.1:{config.port}"
    finally:
        uv.should_exit = True
        thread.join(5)


# --- recording clients: which operation a request was, which answer came back -----------

def operation_of(provider: str, request: httpx.Request) -> str | None:
    """The operation a request named, by method and path (the path may carry a prefix)."""
    for name, op in contracts.operations(provider)["operations"].items():
        if (request.method in op.get("methods", [op.get("method")])
                and request.url.path.endswith(op["path"])):
            return name
    return None


def check_answer(provider: str, request: httpx.Request, response: httpx.Response) -> str | None:
    """Validate an API answer against its contract; the schema used, ``None`` for storage
    calls and bodies that are none of the provider's answers (the mock's control errors)."""
    if is_storage(request):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    schema = contracts.response_schema(provider, operation_of(provider, request), body)
    if schema:
        contracts.validate(provider, schema, body)
    return schema


def answer_check(provider: str) -> Check:
    """:func:`check_answer` for one provider, as a recorder's ``check``."""
    return partial(check_answer, provider)


def operations_of(provider: str) -> Callable[[httpx.Request], str | None]:
    """:func:`operation_of` for one provider, as a recorder's ``operation_of``."""
    return partial(operation_of, provider)
