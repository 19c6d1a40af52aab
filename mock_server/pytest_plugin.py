"""pytest plugin (installed with bgmock, entry point ``pytest11``).

Fixtures:

- ``bgmock_settings``: the :class:`~bgmock.server.settings.Settings` the other fixtures use
  (virtual clock by default); override it in your ``conftest.py``.
- ``bgmock``: a fresh in-process mock per test (:class:`~bgmock.server.testing.InProcessMock`):
  ``bgmock.transport`` for sync httpx clients, ``bgmock.async_transport`` for async ones,
  ``bgmock.url("topview")`` for a client's base URL, and the admin calls
  (``advance``, ``fault``, ``journal``, ``tasks``, ``set_account``, ``reset``).
- ``bgmock_server``: the mock on a free loopback port (one per session, reset before each
  test): ``bgmock_server.url("topview")`` -> ``http://127.0.0.1:<port>/topview``.
- ``bgmock_routes``: a respx router that sends httpx traffic for the real provider hosts
  (``api.topview.ai``) to the in-process mock, so code under test needs no URL change.

Options ``--bgmock-target`` (and ``--bgmock-provider``, ``--bgmock-live-budget``,
``--bgmock-allow-drift``, ``--bgmock-report``) run the contract checks as tests:
``pytest --pyargs bgmock.check --bgmock-target=http://127.0.0.1:8080`` (issue 12).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock, MockServer


@pytest.fixture
def bgmock_settings() -> Settings:
    return Settings(clock="virtual")


@pytest.fixture
def bgmock(bgmock_settings: Settings) -> Iterator[InProcessMock]:
    mock = InProcessMock(bgmock_settings)
    try:
        yield mock
    finally:
        mock.close()


@pytest.fixture(scope="session")
def _bgmock_session_server() -> Iterator[MockServer]:
    server = MockServer(Settings(clock="virtual", port=0)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bgmock_server(_bgmock_session_server: MockServer) -> MockServer:
    _bgmock_session_server.reset()
    return _bgmock_session_server


@pytest.fixture
def bgmock_routes(bgmock: InProcessMock) -> Iterator[object]:
    import respx

    hosts = [host for provider in bgmock.engine.providers for host in provider.hosts]
    with respx.mock(assert_all_called=False) as router:
        for host in hosts:
            router.route(host=host).mock(side_effect=bgmock.transport.handle_request)
        yield router


# --- issue 12: the contract checks as tests (pytest --pyargs bgmock.check) -----------------

def pytest_addoption(parser: pytest.Parser) -> None:
    from bgmock.check.pytest_entry import add_options

    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    from bgmock.check.pytest_entry import check_options

    check_options(config)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    from bgmock.check.pytest_entry import summary

    summary(config, terminalreporter.write_line)
