"""A reset fences off work started before it (D93): submit, reset, wait -> exactly fresh."""

from __future__ import annotations

import asyncio
import threading

from bgmock.server.providers.topview import service
from bgmock.server.providers.topview.fixtures import DEMO_UID
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock

from tests.task_flows import advance, submit, upload


def fresh_view(mock: InProcessMock) -> dict:
    """What a fresh mock holds, and the next id it would draw."""
    engine = mock.engine
    account = engine.accounts.get("topview", DEMO_UID)
    return {"files": sorted(service.state(engine).files),
            "objects": engine.files.object_count, "bytes": engine.files.total_bytes,
            "tasks": sorted(engine.tasks.tasks), "credits": (account.credits, account.reserved),
            "next_id": engine.ids.hex("topview.file")}


def test_submit_reset_wait_leaves_the_fresh_state_exactly_fresh(monkeypatch) -> None:
    settings = Settings(clock="virtual", seed=7)
    expected = fresh_view(InProcessMock(settings))
    mock = InProcessMock(settings)
    inside, release = threading.Event(), threading.Event()
    render = service.render_cutout

    def gated(data: bytes, limits):
        inside.set()
        release.wait(10)
        return render(data, limits)
    monkeypatch.setattr(service, "render_cutout", gated)

    async def run() -> None:
        async with mock.async_client() as http:
            await submit(http, await upload(http))
            while not inside.is_set():                 # the image work is running
                await asyncio.sleep(0.01)
            assert (await http.post("/__admin/reset")).status_code == 200
            release.set()                              # the old work may now go on ...
            for _ in range(20):
                await asyncio.sleep(0.02)
            await advance(http, 60)                    # ... and its task is long due
    asyncio.run(run())
    assert fresh_view(mock) == expected


def test_a_task_read_during_a_reset_answers_and_charges_nobody() -> None:
    mock = InProcessMock(Settings(clock="virtual"))

    async def run() -> None:
        async with mock.async_client() as http:
            await submit(http, await upload(http))
            old_tasks = mock.engine.tasks
            task = next(t for t in old_tasks.tasks.values() if not t.finished)
            await http.post("/__admin/reset")
            mock.engine.clock.advance(10)
            old_tasks.clock.advance(10)
            assert await old_tasks.observe(task) in ("init", "running")  # fenced: never ends
    asyncio.run(run())
    account = mock.engine.accounts.get("topview", DEMO_UID)
    assert (account.credits, account.reserved) == (1000.0, 0.0)


def test_an_aidge_cut_out_in_flight_during_a_reset_leaves_the_fresh_state_fresh(
        monkeypatch) -> None:
    """A synchronous Aidge call that is rendering when the mock is reset answers from the
    stores it started with: the fresh state holds no result of it and draws the same ids."""
    from bgmock.server.providers.aidge import service as aidge

    from tests.aidge_calls import CUT_OUT, DOCS_URL, v2_query

    settings = Settings(clock="virtual", seed=7)
    fresh = InProcessMock(settings).engine
    expected = (fresh.files.object_count, fresh.files.total_bytes, fresh.ids.hex("aidge.result"))
    mock = InProcessMock(settings)
    inside, release = threading.Event(), threading.Event()
    render = aidge.render

    def gated(*args):
        inside.set()
        release.wait(10)
        return render(*args)
    monkeypatch.setattr(aidge, "render", gated)

    async def run() -> dict:
        async with mock.async_client() as http:
            query = v2_query(int(mock.engine.clock.now() * 1000))
            call = asyncio.ensure_future(http.post(CUT_OUT, params=query, json={
                "imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT"}))
            while not inside.is_set():                 # the cut-out is rendering
                await asyncio.sleep(0.01)
            assert (await http.post("/__admin/reset")).status_code == 200
            release.set()
            return (await call).json()
    answer = asyncio.run(run())
    assert answer["success"] is True                   # the caller still gets its answer
    engine = mock.engine
    assert (engine.files.object_count, engine.files.total_bytes,
            engine.ids.hex("aidge.result")) == expected
