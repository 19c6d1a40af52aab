"""``bgmock check`` as pytest tests: ``pytest --pyargs bgmock.check --bgmock-target=...``.

The bgmock pytest plugin adds the options (:func:`add_options`); the test module
``bgmock.check.test_contract`` makes one test item per check and a last item, ``test_drift``,
that fails when the answers drifted (unless ``--bgmock-allow-drift``). The drift table is
printed at the end of the run and, with ``--bgmock-report FILE``, written as JSON.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from bgmock.check import report
from bgmock.check.drift import DriftReport
from bgmock.check.model import Result
from bgmock.check.runner import Run
from bgmock.check.targets import Target, TargetError, make_target


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("bgmock check", "the contract checks (pytest --pyargs bgmock.check)")
    group.addoption("--bgmock-target", default="inproc", metavar="TARGET",
                    help="inproc (default), a running mock's URL, or live")
    group.addoption("--bgmock-provider", action="append", default=None, metavar="P",
                    help="only this provider's checks (repeatable)")
    group.addoption("--bgmock-live-budget", type=int, default=None, metavar="N",
                    help="paid calls allowed on --bgmock-target=live (required there)")
    group.addoption("--bgmock-allow-drift", action="store_true", default=False,
                    help="report drift without failing test_drift")
    group.addoption("--bgmock-report", default=None, metavar="FILE",
                    help="write the results and drift as JSON")


def check_options(config: pytest.Config) -> None:
    """Refuse ``--bgmock-target=live`` without a budget before anything runs."""
    if (config.getoption("--bgmock-target") == "live"
            and config.getoption("--bgmock-live-budget") is None):
        raise pytest.UsageError("--bgmock-target=live needs --bgmock-live-budget N "
                                "(paid calls at most)")


@dataclass
class Session:
    """One target for the whole pytest session, on its own event loop."""

    target: Target
    loop: asyncio.AbstractEventLoop
    drift: DriftReport = field(default_factory=DriftReport)
    run: Run = field(init=False)

    def __post_init__(self) -> None:
        self.run = Run(self.target.describe())

    def call(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)


SESSION = pytest.StashKey[Session]()


def open_session(config: pytest.Config) -> Session:
    spec = config.getoption("--bgmock-target")
    try:
        target = make_target(spec, config.getoption("--bgmock-live-budget"))
    except TargetError as exc:
        raise pytest.UsageError(str(exc).replace("--live-budget", "--bgmock-live-budget")) \
            from None
    session = Session(target, asyncio.new_event_loop())
    session.call(target.start())
    config.stash[SESSION] = session
    return session


def close_session(session: Session) -> None:
    try:
        session.call(session.target.close())
    finally:
        session.loop.close()


def record(session: Session, result: Result) -> None:
    session.run.results.append(result)


def summary(config: pytest.Config, write: Any) -> None:
    """The drift table at the end (the results are pytest's own lines); the JSON file."""
    session = config.stash.get(SESSION, None)
    if session is None:
        return
    write(report.table(session.run, session.drift, results=False))
    path = config.getoption("--bgmock-report")
    if path:
        report.write_json(path, session.run, session.drift,
                          config.getoption("--bgmock-allow-drift"))
