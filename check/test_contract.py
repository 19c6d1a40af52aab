"""The contract checks as pytest items: ``pytest --pyargs bgmock.check --bgmock-target=...``
(one item per check, then ``test_drift``). Not collected by the repository's own test run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bgmock.check import pytest_entry, report
from bgmock.check.model import Check
from bgmock.check.registry import all_checks
from bgmock.check.runner import run_one


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bgmock_check" in metafunc.fixturenames:
        checks = all_checks(metafunc.config.getoption("--bgmock-provider"))
        metafunc.parametrize("bgmock_check", checks, ids=[c.name for c in checks])


@pytest.fixture(scope="session")
def check_session(request: pytest.FixtureRequest) -> Iterator[pytest_entry.Session]:
    session = pytest_entry.open_session(request.config)
    try:
        yield session
    finally:
        pytest_entry.close_session(session)


def test_check(bgmock_check: Check, check_session: pytest_entry.Session) -> None:
    result = check_session.call(run_one(bgmock_check, check_session.target,
                                        [check_session.drift]))
    pytest_entry.record(check_session, result)
    if result.status == "skip":
        pytest.skip(result.reason)
    if result.status == "fail":
        pytest.fail(f"{result.reason}\n{result.diff}".rstrip(), pytrace=False)


def test_drift(check_session: pytest_entry.Session, request: pytest.FixtureRequest) -> None:
    """Runs last: the answers of every check above against their contracts."""
    drift = check_session.drift
    if drift.seen and not request.config.getoption("--bgmock-allow-drift"):
        rows = "\n".join(f"{d.kind} {d.provider}.{d.operation} {d.path or '-'}: expected "
                         f"{d.expected}, got {d.actual}" for d in drift.drifts)
        pytest.fail(f"{len(drift.seen)} drift from the contracts "
                    f"(exit status {report.EXIT_DRIFT} in bgmock check):\n{rows}",
                    pytrace=False)
