"""The ``bgmock check`` framework (issue 12): model, registry, targets, the observing
transport, the context and the runner, with small checks of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from bgmock.check.context import Context
from bgmock.check.model import Check, CheckFailed, Skipped
from bgmock.check.observe import Exchange
from bgmock.check.registry import check as declare
from bgmock.check.runner import run_checks
from bgmock.check.targets import (
    DEMO_CREDENTIALS,
    InprocTarget,
    LiveTarget,
    TargetError,
    UrlTarget,
    make_target,
)
from bgmock.client.topview import AsyncTopviewClient, TopviewError
from bgmock.server.app import create_app
from bgmock.server.providers.aidge.fixtures import DEMO_APP_KEY, DEMO_SECRET
from bgmock.server.providers.runware.fixtures import DEMO_KEY
from bgmock.server.providers.topview.fixtures import DEMO_API_KEY, DEMO_UID
from bgmock.server.settings import Settings
from bgmock.server.testing import running_server


def made(name: str, fn: Callable[[Context], Awaitable[None]], *, provider: str = "topview",
         operation: str = "credit_detail", cost: int = 0, mock_only: bool = False) -> Check:
    return Check(name=name, provider=provider, operation=operation, run=fn, cost=cost,
                 mock_only=mock_only)


async def removal(ctx: Context) -> None:
    topview = ctx.client(AsyncTopviewClient)
    ctx.spend()
    task = await topview.remove_background(await topview.upload(ctx.image()))
    result = await topview.wait(task, sleep=ctx.sleep)
    ctx.expect(result["status"], "success", "status")


async def wrong(ctx: Context) -> None:
    credit = await ctx.client(AsyncTopviewClient).credit()
    ctx.expect({"credit": credit}, {"credit": -1}, "credit")


async def bad_key(ctx: Context) -> None:
    topview = ctx.client(AsyncTopviewClient, api_key="sk-wrong")
    await ctx.expect_error(topview.credit(), TopviewError, "a wrong key", code="401")


async def crashes(ctx: Context) -> None:
    raise RuntimeError("boom")


async def faults(ctx: Context) -> None:
    ctx.require_mock("needs fault rules")
    await ctx.admin.fault("topview", "error=5000", operation="credit_detail", count=1)
    topview = ctx.client(AsyncTopviewClient)
    await ctx.expect_error(topview.credit(), TopviewError, "a fault rule", code="5000")


def run(checks: list[Check], target_spec: str = "inproc", **kw: object) -> list:
    seen: list[Exchange] = []
    target = make_target(target_spec, **kw) if isinstance(target_spec, str) else target_spec
    outcome = asyncio.run(run_checks(checks, target, [seen.append]))
    return [outcome, seen]


def test_demo_credentials_are_the_mocks() -> None:
    assert DEMO_CREDENTIALS["topview"] == {"uid": DEMO_UID, "api_key": DEMO_API_KEY}
    assert DEMO_CREDENTIALS["aidge"] == {"app_key": DEMO_APP_KEY, "secret": DEMO_SECRET}
    assert DEMO_CREDENTIALS["runware"] == {"api_key": DEMO_KEY}


def test_runner_in_process_pass_fail_skip() -> None:
    checks = [made("topview.t.removal", removal, operation="remove_background_submit"),
              made("topview.t.wrong", wrong), made("topview.t.bad_key", bad_key),
              made("topview.t.crash", crashes), made("topview.t.fault", faults,
                                                     mock_only=True)]
    outcome, seen = run(checks)
    status = {r.name: r.status for r in outcome.results}
    assert status == {"topview.t.removal": "pass", "topview.t.wrong": "fail",
                      "topview.t.bad_key": "pass", "topview.t.crash": "fail",
                      "topview.t.fault": "pass"}
    by = {r.name: r for r in outcome.results}
    assert '-  "credit": -1' in by["topview.t.wrong"].diff
    assert "RuntimeError: boom" in by["topview.t.crash"].reason
    assert by["topview.t.removal"].calls >= 5 and by["topview.t.removal"].paid == 1
    ops = [e.operation for e in seen]
    assert {"upload_credential", "remove_background_submit", "remove_background_query",
            "credit_detail"} <= set(ops)
    # secrets never reach a sink
    assert all(e.request_headers.get("authorization") in (None, "<redacted>") for e in seen)
    assert not any(DEMO_API_KEY in e.url or DEMO_API_KEY.encode() in e.request_body
                   for e in seen)


def test_runner_over_the_wire() -> None:
    with running_server() as server:
        outcome, seen = run([made("topview.t.removal", removal)], server.base_url)
    assert [r.status for r in outcome.results] == ["pass"], outcome.results
    assert seen and all(e.url.startswith(server.base_url) for e in seen)


def test_live_needs_a_budget_and_skips_what_it_cannot_run() -> None:
    with pytest.raises(TargetError, match="--live-budget"):
        make_target("live")
    with pytest.raises(TargetError):
        make_target("ftp://x")
    target = LiveTarget(budget=0, env={"TOPVIEW_UID": "u", "TOPVIEW_API_KEY": "k"})
    checks = [made("topview.t.fault", faults, mock_only=True),
              made("topview.t.paid", removal, cost=1),
              made("runware.t.nokey", removal, provider="runware", operation="ping")]
    outcome = asyncio.run(run_checks(checks, target))
    assert [(r.status, r.reason) for r in outcome.results] == [
        ("skip", "mock only: needs the admin API (faults, clock, accounts)"),
        ("skip", "live budget spent"), ("skip", "live: set RUNWARE_API_KEY")]
    assert target.credentials("topview") == {"uid": "u", "api_key": "k"}
    with pytest.raises(Skipped, match="TOPVIEW_UID, TOPVIEW_API_KEY"):
        LiveTarget(budget=1, env={}).credentials("topview")


def test_spend_past_the_budget_skips() -> None:
    target = LiveTarget(budget=1, env={})
    ctx = Context(target, "topview")
    ctx.spend()
    with pytest.raises(Skipped, match="live budget spent"):
        ctx.spend()
    assert target.spent == 1


def test_url_targets() -> None:
    target = UrlTarget("http://127.0.0.1:9/")
    assert target.base_url("runware") == "http://127.0.0.1:9/runware/v1"
    assert target.websocket_url("runware") == "ws://127.0.0.1:9/runware/v1"
    assert target.websocket_url("topview") is None
    assert InprocTarget().root_path("picpik") == "/picpik"


def test_registry_refuses_bad_declarations() -> None:
    with pytest.raises(ValueError, match="starts with its provider"):
        declare("topview", "credit_detail", name="aidge.x")

    async def fn(ctx: Context) -> None: ...

    with pytest.raises(ValueError, match="cost"):
        declare("topview", "credit_detail", name="topview.x", cost=-1)(fn)


def test_expect_helpers_word_a_diff() -> None:
    ctx = Context(InprocTarget(), "topview")
    with pytest.raises(CheckFailed) as failed:
        ctx.expect({"a": 1}, {"a": 2}, "a")
    assert "expected {'a': 2}, got {'a': 1}" in str(failed.value)
    assert "-  \"a\": 2" in failed.value.diff and "+  \"a\": 1" in failed.value.diff
    assert Context.image((32, 16)) == Context.image((32, 16))
    with pytest.raises(ValueError):
        Context.image((10**6, 10))


class LiveLikeTarget(LiveTarget):
    """The live target's rules (keys from the environment, a budget, no admin API) in front of
    an in-process mock, so they can be tested without the real APIs."""

    def __init__(self, budget: int) -> None:
        env = {"TOPVIEW_UID": DEMO_UID, "TOPVIEW_API_KEY": DEMO_API_KEY}
        super().__init__(budget, env=env)
        # tasks finish on their first poll: live, nobody advances the clock
        self.mock = InprocTarget(create_app(Settings(clock="virtual", instant=True)))

    def root_url(self, provider: str) -> str:
        return self.mock.root_url(provider)

    def transport(self):  # type: ignore[no-untyped-def]
        return self.mock.transport()


def test_live_rules_with_the_real_checks() -> None:
    """A budget of 2 paid calls over Topview's named checks: mock-only checks skip with their
    reason, checks that do not fit skip as 'live budget spent', never more than 2 are paid."""
    from bgmock.check.registry import all_checks

    target = LiveLikeTarget(budget=2)
    checks = all_checks(["topview", "aidge"])
    outcome = asyncio.run(run_checks(checks, target))
    by = {r.name: r for r in outcome.results}
    assert target.spent <= 2 and sum(r.paid for r in outcome.results) == target.spent
    for r in outcome.results:
        if r.check.mock_only:
            assert (r.status, r.reason.split(":")[0]) == ("skip", "mock only"), r
        elif r.check.provider == "aidge":
            assert (r.status, r.reason) == ("skip", "live: set AIDGE_APP_KEY, AIDGE_APP_SECRET")
    assert by["topview.credit_detail.happy"].status == "pass"
    assert any(r.reason == "live budget spent" for r in outcome.results)
    assert not [r for r in outcome.results if r.status == "fail"], [
        (r.name, r.reason) for r in outcome.results if r.status == "fail"]
