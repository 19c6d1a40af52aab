"""A reset fences off work started before it (D93): submit, reset, wait -> exactly fresh."""

from __future__ import annotations

import asyncio
import threading

from mock_server.providers.topview import service
from mock_server.providers.topview.fixtures import DEMO_UID
from mock_server.settings import Settings
from mock_server.testing import InProcessMock
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
