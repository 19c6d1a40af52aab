"""Engine pieces on their own: clock, task lifecycle, faults, URL signing, file store."""

from __future__ import annotations

import asyncio

import pytest
from bgmock.server.core.clock import Clock
from bgmock.server.core.faults import Fault, Faults, FaultSyntaxError, parse
from bgmock.server.core.files import CloudFrontSign, Denied, FileStore, S3Presign
from bgmock.server.core.ids import Ids
from bgmock.server.core.tasks import Lifecycle, TaskEngine, TaskPlan

LC = Lifecycle(pending=("init", "running"), durations=(1.0, 4.0))


def _task(engine: TaskEngine, plan: TaskPlan | None = None, work=None):
    return engine.create(id="t", provider="p", operation="op", owner="o", lifecycle=LC,
                         plan=plan or TaskPlan(), payload={}, work=work)


def _states(engine: TaskEngine, task, steps: list[float]) -> list[str]:
    seen = []
    for step in steps:
        engine.clock.advance(step)
        seen.append(asyncio.run(engine.observe(task)))
    return seen


def test_virtual_clock_only_moves_when_advanced() -> None:
    clock = Clock("virtual", start=1000.0)
    assert clock.now() == clock.now() == 1000.0
    assert clock.advance(5) == 1005.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_speed_scales_durations_not_the_clock() -> None:
    clock = Clock("real", speed=10)
    assert clock.scaled(5) == 0.5
    engine = TaskEngine(Clock("virtual", speed=10, start=0))
    task = _task(engine)
    assert _states(engine, task, [0.05, 0.1, 0.4]) == ["init", "running", "success"]


def test_time_based_lifecycle() -> None:
    engine = TaskEngine(Clock("virtual", start=0))
    task = _task(engine)
    assert _states(engine, task, [0, 0.99, 0.02, 3.9, 0.1]) == [
        "init", "init", "running", "running", "success"]
    assert task.finished_at == pytest.approx(5.01)


def test_polls_plan_ignores_time() -> None:
    engine = TaskEngine(Clock("virtual", start=0))
    task = _task(engine, TaskPlan(polls=4))
    engine.clock.advance(1000)
    assert [asyncio.run(engine.observe(task, poll=True)) for _ in range(4)] == [
        "init", "running", "running", "success"]


def test_instant_mode_finishes_on_first_poll() -> None:
    engine = TaskEngine(Clock("virtual", start=0), instant=True)
    task = _task(engine)
    assert asyncio.run(engine.observe(task)) == "init"          # reading is not polling
    assert asyncio.run(engine.observe(task, poll=True)) == "success"


def test_failure_at_a_chosen_state_and_stuck() -> None:
    engine = TaskEngine(Clock("virtual", start=0))
    task = _task(engine, TaskPlan(fail=True, fail_at="init", fail_message="nope"))
    assert _states(engine, task, [0.5, 0.6]) == ["init", "fail"]
    assert task.error == "nope"
    stuck = TaskEngine(Clock("virtual", start=0))
    forever = _task(stuck, TaskPlan(stuck_at="init", polls=1))
    assert _states(stuck, forever, [1e9]) == ["init"]


def test_failing_work_fails_the_task_with_its_message() -> None:
    async def run() -> str:
        engine = TaskEngine(Clock("virtual", start=0), instant=True)

        async def work() -> None:
            raise RuntimeError("image decode failed")
        task = _task(engine, work=work)
        await engine.observe(task, poll=True)
        return f"{task.status}: {task.error}"
    assert asyncio.run(run()) == "fail: image decode failed"


def test_plan_rejects_unknown_states() -> None:
    with pytest.raises(ValueError):
        TaskPlan(stuck_at="done").check(LC)
    with pytest.raises(ValueError):
        Lifecycle(pending=("a",), durations=(1.0, 2.0))


def test_on_finish_runs_once() -> None:
    calls = []

    async def run() -> None:
        engine = TaskEngine(Clock("virtual", start=0), instant=True)
        task = engine.create(id="t", provider="p", operation="op", owner="o", lifecycle=LC,
                             plan=TaskPlan(), payload={}, on_finish=calls.append)
        await asyncio.gather(*(engine.observe(task, poll=True) for _ in range(5)))
    asyncio.run(run())
    assert len(calls) == 1


@pytest.mark.parametrize(("text", "fault"), [
    ("error=4100", Fault(error="4100")),
    ("fail", Fault(fail=True)),
    ("fail=model down ; delay=0.5", Fault(fail=True, fail_message="model down", delay=0.5)),
    ("fail_at=init", Fault(fail=True, fail_at="init")),
    ("stuck", Fault(stuck=True)),
    ("STUCK=init;polls=3", Fault(stuck=True, stuck_at="init", polls=3)),
    ("duration=12.5", Fault(duration=12.5)),
    ("", Fault()),
])
def test_fault_syntax(text: str, fault: Fault) -> None:
    assert parse(text) == fault


@pytest.mark.parametrize("text", ["error", "error=", "polls=0", "polls=x", "delay=-1", "boom",
                                  "fail_at="])
def test_fault_syntax_errors(text: str) -> None:
    with pytest.raises(FaultSyntaxError):
        parse(text)


def test_fault_rules_match_count_and_merge_with_header() -> None:
    faults = Faults()
    faults.add("topview", "submit", parse("error=5003"), key="k", count=1)
    faults.add("topview", "*", parse("delay=1"))
    assert faults.resolve("topview", "submit", "other", None) == Fault(delay=1)
    assert faults.resolve("topview", "submit", "k", parse("polls=2")) == Fault(error="5003",
                                                                                 polls=2)
    assert faults.resolve("topview", "submit", "k", None) == Fault(delay=1)   # used up
    assert faults.resolve("aidge", "submit", "k", None) == Fault()


def test_s3_presign_verifies_and_expires() -> None:
    signer = S3Presign(b"secret")
    url = signer.url("http://m", "bucket", "a/b c.png", now=1_000_000, expires=60)
    assert url.startswith("http://m/files/s3/bucket/a/b%20c.png?X-Amz-Algorithm=AWS4-HMAC-SHA256")
    params = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    params["X-Amz-Credential"] = params["X-Amz-Credential"].replace("%2F", "/")
    signer.verify("GET", "bucket", "a/b c.png", params, now=1_000_060)
    with pytest.raises(Denied) as late:
        signer.verify("GET", "bucket", "a/b c.png", params, now=1_000_061)
    assert late.value.expired
    with pytest.raises(Denied):
        signer.verify("PUT", "bucket", "a/b c.png", params, now=1_000_000)
    with pytest.raises(Denied):
        S3Presign(b"other").verify("GET", "bucket", "a/b c.png", params, now=1_000_000)
    with pytest.raises(Denied):
        signer.verify("GET", "bucket", "a/b c.png", {}, now=1_000_000)


def test_cloudfront_policy_round_trip() -> None:
    from urllib.parse import parse_qs, urlsplit

    signer = CloudFrontSign(b"secret")
    url = signer.url("http://m", "dist", "x/y.png", now=100, ttl=10)
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    signer.verify("dist", "x/y.png", params, now=109)
    for now, key in ((110, "x/y.png"), (100, "x/z.png")):
        with pytest.raises(Denied):
            signer.verify("dist", key, params, now=now)
    with pytest.raises(Denied):
        signer.verify("dist", "x/y.png", {**params, "Policy": "!!"}, now=100)


def test_file_store_evicts_oldest_bytes_over_the_cap() -> None:
    store = FileStore(Clock("virtual", start=0), max_bytes=10)
    store.put("b", "one", b"12345", "x")
    store.put("b", "two", b"12345", "x")
    store.put("b", "three", b"1", "x")
    assert not store.exists("b", "one") and store.exists("b", "three")
    assert store.total_bytes == 6


def test_ids_are_deterministic_per_seed() -> None:
    first, again, other = Ids(1), Ids(1), Ids(2)
    a = [first.hex("task") for _ in range(3)]
    assert a == [again.hex("task") for _ in range(3)]
    assert a != [other.hex("task") for _ in range(3)]
    assert all(len(x) == 32 and int(x, 16) >= 0 for x in a)
