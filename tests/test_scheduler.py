"""Tasks finish unread: on a clock advance (virtual) or by a timer (real), listeners told (D91)."""

from __future__ import annotations

import asyncio
import time

import pytest
from bgmock.server.core.clock import Clock
from bgmock.server.core.plan import Lifecycle, TaskPlan
from bgmock.server.core.scheduler import Scheduler
from bgmock.server.core.tasks import Task, TaskEngine
from bgmock.server.core.timeline import Timeline
from bgmock.server.providers.topview.fixtures import DEMO_UID
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock

from tests.task_flows import advance, query, submit, upload

LC = Lifecycle(pending=("init", "running"), durations=(1.0, 4.0))


def test_a_task_finishes_and_fires_its_listeners_on_an_advance_with_nobody_polling() -> None:
    mock = InProcessMock(Settings(clock="virtual"))
    engine = mock.engine
    seen: list[Task] = []
    engine.tasks.listeners.append(seen.append)

    async def run() -> None:
        async with mock.async_client() as http:
            task_id = await submit(http, await upload(http))
            created = engine.tasks.get(task_id).created_at
            await advance(http, 4.9)
            assert seen == []                                  # not due yet: nothing ran
            await advance(http, 0.2)                           # returns after the end ran
            assert [t.id for t in seen] == [task_id]
            task = engine.tasks.tasks[task_id]
            assert task.status == "success" and task.result is not None
            assert task.finished_at == pytest.approx(created + 5.0)   # at its due time
            account = engine.accounts.get("topview", DEMO_UID)
            assert (account.credits, account.reserved) == (999.5, 0.0)  # settled unread
    asyncio.run(run())


def test_an_advance_runs_what_fell_due_in_due_time_order() -> None:
    mock = InProcessMock(Settings(clock="virtual"))
    seen: list[str] = []
    mock.engine.tasks.listeners.append(lambda t: seen.append(t.id))

    async def run() -> list[str]:
        async with mock.async_client() as http:
            file_id = await upload(http)
            ids = [await submit(http, file_id, fault=f"duration={d}") for d in (3, 1, 2)]
            await advance(http, 60)
            return ids
    slow, fast, middle = asyncio.run(run())
    assert seen == [fast, middle, slow]
    times = [mock.engine.tasks.tasks[t].finished_at - mock.engine.tasks.tasks[t].created_at
             for t in (fast, middle, slow)]
    assert times == pytest.approx([1, 2, 3], abs=1e-6)


def test_a_listener_that_raises_does_not_stop_the_others_or_the_reader() -> None:
    mock = InProcessMock(Settings(clock="virtual"))
    seen: list[str] = []

    def broken(_: Task) -> None:
        raise RuntimeError("listener bug")
    mock.engine.tasks.listeners.extend([broken, lambda t: seen.append(t.status)])

    async def run() -> dict:
        async with mock.async_client() as http:
            task_id = await submit(http, await upload(http), fault="polls=1")
            return await query(http, task_id)
    assert asyncio.run(run())["result"]["status"] == "success"
    assert seen == ["success"]


def test_reading_a_due_task_still_finishes_it_at_once() -> None:
    mock = InProcessMock(Settings(clock="virtual"))

    async def run() -> dict:
        async with mock.async_client() as http:
            task_id = await submit(http, await upload(http))
            mock.engine.clock.advance(6)  # straight on the clock: the scheduler never ran
            return await query(http, task_id)
    assert asyncio.run(run())["result"]["status"] == "success"


def test_on_the_real_clock_a_timer_finishes_tasks_within_100_ms_of_their_time() -> None:
    mock = InProcessMock(Settings(clock="real", speed=50))   # 5 s of task time: 0.1 s
    finished: list[float] = []
    mock.engine.tasks.listeners.append(lambda t: finished.append(time.time()))

    async def run() -> tuple[float, float]:
        async with mock.async_client() as http:
            task_id = await submit(http, await upload(http))
            due = mock.engine.tasks.tasks[task_id].due_at
            deadline = time.monotonic() + 5.0
            while not finished and time.monotonic() < deadline:  # nobody reads the task
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            return due, finished[0] if finished else float("inf")
    due, at = asyncio.run(run())
    assert at - due < 0.1


def test_the_timer_sleeps_until_the_earliest_deadline_no_busy_loop() -> None:
    async def run() -> tuple[int, float]:
        clock = Clock("real")
        timeline = Timeline()
        scheduler = Scheduler(clock, timeline)
        ran: list[float] = []
        timeline.at(clock.now() + 0.2, lambda: ran.append(clock.now()) or None)
        ticks = 0
        original = scheduler._tick

        def counted() -> None:
            nonlocal ticks
            ticks += 1
            original()
        scheduler._tick = counted  # type: ignore[method-assign]
        scheduler._disarm()
        scheduler.wake()
        await asyncio.sleep(0.4)
        scheduler.close()
        return ticks, len(ran)
    ticks, ran = asyncio.run(run())
    assert ran == 1 and ticks == 1


def test_scheduler_waits_for_running_work_before_it_answers() -> None:
    async def run() -> tuple[str, list[str]]:
        clock = Clock("virtual", start=0)
        timeline = Timeline()
        engine, scheduler = TaskEngine(clock, timeline=timeline), Scheduler(clock, timeline)
        told: list[str] = []
        gate = asyncio.Event()

        async def work() -> str:
            await gate.wait()
            return "bytes"
        task = engine.create(id="t", provider="p", operation="op", owner="o", lifecycle=LC,
                             plan=TaskPlan(), payload={}, work=work,
                             on_finish=lambda t: told.append(t.status))
        asyncio.get_running_loop().call_later(0.05, gate.set)
        await scheduler.advance(10)
        return task.result, told
    assert asyncio.run(run()) == ("bytes", ["success"])


def test_on_the_real_clock_an_advance_does_not_delay_what_falls_due_after_it() -> None:
    # a timer armed for a far deadline, then the clock advanced: a new deadline 0.2 s ahead
    # runs in about 0.2 s of wall time, not when the old timer fires (D168)
    async def run() -> float | None:
        clock = Clock("real")
        timeline = Timeline()
        scheduler = Scheduler(clock, timeline)
        timeline.at(clock.now() + 30.0, lambda: None)
        timeline.at(clock.now() + 1000.0, lambda: None)
        scheduler.wake()                    # armed 30 s of wall time ahead
        await scheduler.advance(35.0)       # runs the first; the timer must not stay as it was
        ran: list[float] = []
        started = time.monotonic()
        timeline.at(clock.now() + 0.2, lambda: ran.append(time.monotonic() - started) or None)
        scheduler.wake()
        await asyncio.sleep(1.0)
        scheduler.close()
        return ran[0] if ran else None
    took = asyncio.run(run())
    assert took is not None and took < 0.8, took
