"""The four providers' named checks (``bgmock.check.providers``, issue 12 parts 1 and 5): every
check passes in-process and against a mock on a port, each is declared honestly (contract
operation, live cost, mock only), the live target skips them without a call when keys or
budget are missing, and a mock made wrong makes them fail with a diff instead of passing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bgmock.check.admin import AsyncAdmin
from bgmock.check.model import Check, Result
from bgmock.check.registry import PROVIDERS, all_checks
from bgmock.check.runner import run_checks
from bgmock.check.targets import InprocTarget, LiveTarget, Target, make_target
from bgmock.server.settings import Settings
from bgmock.server.testing import running_server

from bgmock import contracts

CHECKS = all_checks()
BY_NAME = {c.name: c for c in CHECKS}
NO_SOCKET_IN_PROCESS = {"runware.websocket.sdk_removal"}


def run(checks: list[Check], target: Target) -> dict[str, Result]:
    return {r.name: r for r in asyncio.run(run_checks(checks, target)).results}


def explain(result: Result) -> str:
    return f"{result.name}: {result.status} {result.reason}\n{result.diff}"


@pytest.fixture(scope="module")
def in_process() -> dict[str, Result]:
    return run(CHECKS, InprocTarget())


@pytest.fixture(scope="module", params=["real", "virtual"])
def over_the_wire(request: pytest.FixtureRequest) -> Iterator[dict[str, Result]]:
    """``bgmock serve`` on a port: its default real clock (callbacks go out from timers), and
    the virtual clock CI uses."""
    with running_server(Settings(clock=request.param, port=0)) as server:
        yield run(CHECKS, make_target(server.base_url))


# --- declared honestly ----------------------------------------------------------------------


def test_every_provider_has_each_kind_of_check() -> None:
    for provider in PROVIDERS:
        mine = [c for c in CHECKS if c.provider == provider]
        assert any(c.cost > 0 for c in mine), provider            # a paid happy path
        assert any(not c.mock_only and c.cost == 0 and ".auth." in c.name for c in mine)
        assert any(c.mock_only for c in mine), provider           # fault-injected paths
        assert len(mine) >= 10, provider


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_check_names_a_contract_operation(check: Check) -> None:
    assert check.name.startswith(f"{check.provider}.") and check.name.count(".") == 2
    assert check.operation in contracts.operations(check.provider)["operations"]
    assert check.doc, "each check says what it checks"


# --- every check passes on a mock ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_passes_in_process(in_process: dict[str, Result], name: str) -> None:
    result = in_process[name]
    if name in NO_SOCKET_IN_PROCESS:
        assert result.status == "skip" and "no WebSocket" in result.reason, explain(result)
    else:
        assert result.status == "pass", explain(result)
        assert result.calls > 0


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_passes_over_the_wire(over_the_wire: dict[str, Result], name: str) -> None:
    assert over_the_wire[name].status == "pass", explain(over_the_wire[name])


def test_paid_calls_match_the_declared_cost(in_process: dict[str, Result]) -> None:
    """A check counts its paid calls (``ctx.spend``) before making them: never more than its
    cost, and a check declared paid does spend."""
    for result in in_process.values():
        if result.status == "pass":
            assert result.paid == result.check.cost, explain(result)


# --- live: explicit skips, no call without keys or budget --------------------------------


def test_live_without_keys_skips_everything_without_a_call() -> None:
    results = run(CHECKS, LiveTarget(budget=1000, env={}))
    for result in results.values():
        assert result.status == "skip" and result.calls == 0, explain(result)
        if result.check.mock_only:
            assert result.reason.startswith("mock only"), explain(result)
        elif result.name not in NO_SOCKET_IN_PROCESS:
            assert result.reason.startswith("live: set "), explain(result)


def test_live_budget_skips_paid_checks_before_any_call() -> None:
    paid = [c for c in CHECKS if c.cost > 0 and not c.mock_only]
    env = {"TOPVIEW_UID": "u", "TOPVIEW_API_KEY": "k", "AIDGE_APP_KEY": "k",
           "AIDGE_APP_SECRET": "s", "PICPIK_PUBLIC_KEY": "k", "PICPIK_PRIVATE_KEY": "s",
           "RUNWARE_API_KEY": "k"}
    results = run(paid, LiveTarget(budget=0, env=env))
    assert {r.status for r in results.values()} == {"skip"}
    assert {r.reason for r in results.values()} == {"live budget spent"}
    assert all(r.calls == 0 for r in results.values())


# --- a mock made wrong: the checks fail, with a diff -----------------------------------------


class WrongAdmin(AsyncAdmin):
    """The admin API of a mock made wrong: fault rules that come back after every reset."""

    def __init__(self, target: InprocTarget, rules: list[dict[str, Any]]) -> None:
        super().__init__(target._admin_http, target.BASE)
        self.rules = rules

    async def reset(self) -> None:
        await super().reset()
        for rule in self.rules:
            await self.call("POST", "/faults", json=rule)


def wrong_target(*rules: dict[str, Any]) -> InprocTarget:
    target = InprocTarget()
    target._admin = WrongAdmin(target, list(rules))
    return target


def rule(provider: str, operation: str, fault: str) -> dict[str, Any]:
    return {"provider": provider, "operation": operation, "fault": fault}


MADE_WRONG = [
    # (check, the rule that breaks the mock, what the diff must show)
    ("topview.remove_background.lifecycle",
     rule("topview", "remove_background_submit", "fail=broken on purpose"), "TopviewTaskFailed"),
    ("topview.credit_detail.happy", rule("topview", "credit_detail", "error=4004"), '"4004"'),
    ("topview.remove_background_query.unknown_id",
     rule("topview", "remove_background_query", "error=5000"), '"5000"'),
    ("aidge.cut_out.docs_example", rule("aidge", "cut_out", "error=501"), '"501"'),
    ("aidge.cut_out.not_an_image", rule("aidge", "cut_out", "error=1000"), "1000"),
    ("picpik.remove_background.lifecycle",
     rule("picpik", "remove_background", "stuck=Running"), "Running"),
    ("picpik.list_tasks_details.unknown_id", rule("picpik", "list_tasks_details", "error=150"),
     "150"),
    ("runware.remove_background.sync", rule("runware", "remove_background", "error=503"),
     "serviceUnavailable"),
    ("runware.get_response.unknown_id", rule("runware", "get_response", "error=429"),
     "rateLimitExceeded"),
]


@pytest.mark.parametrize(("name", "broken", "shown"), MADE_WRONG,
                         ids=[case[0] for case in MADE_WRONG])
def test_fails_with_a_diff_against_a_mock_made_wrong(name: str, broken: dict[str, Any],
                                                     shown: str) -> None:
    result = run([BY_NAME[name]], wrong_target(broken))[name]
    assert result.status == "fail", explain(result)
    assert shown in result.diff and "Traceback" not in result.diff, explain(result)
    assert result.diff.startswith("--- expected"), explain(result)


def test_the_readme_lists_every_check() -> None:
    """README "The named checks": one row per check, with its operation, cost and mock-only
    flag as declared."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("## The named checks", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_.]+)` \| `([a-z_]+)` \| (\d+) \| (yes)? \|$", section, re.M)
    listed = {name: (operation, int(cost), bool(mock)) for name, operation, cost, mock in rows}
    assert listed == {c.name: (c.operation, c.cost, c.mock_only) for c in CHECKS}
