"""Bounded history: records expire on the mock clock per the provider's retention (D92), and a
request looks only at the caller's unfinished tasks, never at every task ever made (D94)."""

from __future__ import annotations

import asyncio

import pytest
from bgmock.server.core.clock import Clock
from bgmock.server.core.files import FileStore
from bgmock.server.core.plan import TaskPlan
from bgmock.server.core.tasks import TaskEngine
from bgmock.server.core.timeline import DAY, Retention
from bgmock.server.providers.picpik.fixtures import DOCS_TASKS as PICPIK_DOCS_TASKS
from bgmock.server.providers.topview import service
from bgmock.server.providers.topview.avatar_fixtures import DOCS_TASK_IDS
from bgmock.server.providers.topview.fixtures import DOCS_TASKS
from bgmock.server.providers.topview.product_background_docs import (
    DOCS_TASKS as BACKGROUND_DOCS_TASKS,
)
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock

from tests.conftest import CHECK, DEMO
from tests.task_flows import advance, query, submit, upload

# The docs' finished tasks on a fresh mock: remove background, product avatar (T31).
FIXTURE_TASKS = ({t.task_id for t in DOCS_TASKS} | set(DOCS_TASK_IDS)
                 | {t[0] for t in BACKGROUND_DOCS_TASKS} | set(PICPIK_DOCS_TASKS))


def test_retention_rounds_up_to_the_next_midnight_utc_as_s3_lifecycle_rules_do() -> None:
    rule = Retention(3 * DAY, midnight=True)
    made = 1389781800.0                              # 2014-01-15T10:30:00Z (AWS's example)
    assert rule.until(made) == 1390089600.0          # 2014-01-19T00:00:00Z
    assert Retention(60).until(made) == made + 60


def test_an_expired_task_answers_as_unknown_and_its_urls_as_expired_objects() -> None:
    mock = InProcessMock(Settings(clock="virtual"))
    engine = mock.engine
    fresh_files = set(service.state(engine).files)

    async def run() -> None:
        async with mock.async_client() as http:
            task_id = await submit(http, await upload(http), fault="polls=1")
            result = (await query(http, task_id))["result"]
            assert result["status"] == "success"
            task = engine.tasks.get(task_id)
            assert task.expires_at - task.finished_at >= 7 * DAY
            await advance(http, task.expires_at - engine.clock.now() - 60)
            late = (await query(http, task_id, cloudfront=True))["result"]  # still there
            url = late["bgRemovedImagePath"]
            assert (await http.get(url)).status_code == 200
            await advance(http, 120)                           # its 7 days are over
            gone = await query(http, task_id)
            assert gone["code"] == "4004" and gone["result"] is None
            expired = await http.get(url)                      # signature still valid
            assert expired.status_code == 403 and b"AccessDenied" in expired.content
            check = (await http.get(CHECK, params={"fileId": result["maskImageFileId"]},
                                    headers=DEMO)).json()
            assert check["code"] == "4004"
            assert (await http.get(f"/__admin/tasks/{task_id}")).status_code == 404
    asyncio.run(run())
    assert task_id_free(engine)
    assert set(service.state(engine).files) == fresh_files  # results and upload gone too


def task_id_free(engine) -> bool:
    return set(engine.tasks.tasks) == FIXTURE_TASKS


def test_upload_slots_and_uploads_go_when_their_lifetimes_end() -> None:
    mock = InProcessMock(Settings(clock="virtual"))
    engine = mock.engine
    fixtures = set(service.state(engine).files)

    async def run() -> None:
        async with mock.async_client() as http:
            credential = (await http.get("/topview/v1/upload/credential",
                                         params={"format": "png"}, headers=DEMO)).json()
            file_id = credential["result"]["fileId"]
            assert engine.files.upload_count == 1
            await advance(http, 3601)                          # the upload URL's hour
            assert engine.files.upload_count == 0
            uploaded = await upload(http)
            await advance(http, 7 * DAY - 60)
            assert engine.files.object_count == 1             # uploads stay 7 days
            await advance(http, DAY)
            assert engine.files.object_count == 0
            assert set(service.state(engine).files) == fixtures
            assert file_id not in service.state(engine).files
            assert uploaded not in service.state(engine).files
    asyncio.run(run())


def test_a_file_a_running_task_uses_stays_until_the_task_ends() -> None:
    mock = InProcessMock(Settings(clock="virtual"))

    async def run() -> tuple[dict, dict]:
        async with mock.async_client() as http:
            file_id = await upload(http)
            stuck = await submit(http, file_id, fault="stuck")
            await advance(http, 10 * DAY)
            later = (await http.get(CHECK, params={"fileId": file_id}, headers=DEMO)).json()
            assert (await query(http, stuck))["result"]["status"] == "running"
            await http.post("/__admin/reset")
            return later, (await http.get(CHECK, params={"fileId": file_id},
                                          headers=DEMO)).json()
    in_use, after_reset = asyncio.run(run())
    assert in_use["result"] is True
    assert after_reset["code"] == "4004"


def test_the_docs_fixtures_are_kept_for_ever() -> None:
    mock = InProcessMock(Settings(clock="virtual"))

    async def run() -> dict:
        async with mock.async_client() as http:
            await advance(http, 3650 * DAY)
            return await query(http, DOCS_TASKS[0].task_id)
    answer = asyncio.run(run())
    assert answer["result"]["status"] == "success"


def test_many_finished_tasks_leave_nothing_behind_after_their_retention() -> None:
    mock = InProcessMock(Settings(clock="virtual"))
    engine = mock.engine

    async def run() -> None:
        async with mock.async_client() as http:
            file_id = await upload(http)
            for _ in range(40):
                await submit(http, file_id, fault="duration=1")
                await advance(http, 2)
            assert len(engine.tasks.tasks) == 40 + len(FIXTURE_TASKS)
            await advance(http, 9 * DAY)
    asyncio.run(run())
    assert task_id_free(engine)
    assert engine.files.object_count == 0                      # uploads and results
    assert len(engine.timeline) == 0


def test_admission_looks_only_at_the_callers_unfinished_tasks(monkeypatch) -> None:
    engine = TaskEngine(Clock("virtual", start=0))
    for n in range(2000):  # history: finished tasks of the same owner
        engine.create(id=f"old{n}", provider="p", operation="op", owner="o",
                      lifecycle=service.LIFECYCLE, plan=TaskPlan(polls=1),
                      payload={})
        asyncio.run(engine.observe(engine.tasks[f"old{n}"], poll=True))
    engine.create(id="open", provider="p", operation="op", owner="o",
                  lifecycle=service.LIFECYCLE, plan=TaskPlan(polls=1), payload={})
    looked: list[str] = []
    original = TaskEngine._planned_state

    def counting(self, task):
        looked.append(task.id)
        return original(self, task)
    monkeypatch.setattr(TaskEngine, "_planned_state", counting)
    assert engine.unfinished("p", "o") == 1
    assert asyncio.run(engine.catch_up("p", "o")) == 1
    assert set(looked) <= {"open"}  # never history (since D165 not even "open": not due)


def test_admission_looks_only_at_tasks_whose_time_is_up(monkeypatch) -> None:
    clock = Clock("virtual", start=0)
    engine = TaskEngine(clock)
    for n in range(3000):  # open tasks, due at 5 s
        engine.create(id=f"t{n}", provider="p", operation="op", owner="o",
                      lifecycle=service.LIFECYCLE, plan=TaskPlan(duration=5.0), payload={})
    engine.create(id="soon", provider="p", operation="op", owner="o",
                  lifecycle=service.LIFECYCLE, plan=TaskPlan(duration=1.0), payload={})
    looked: list[str] = []
    original = TaskEngine.observe

    async def counting(self, task, *, poll=False):
        looked.append(task.id)
        return await original(self, task, poll=poll)
    monkeypatch.setattr(TaskEngine, "observe", counting)
    assert engine.unfinished("p", "o") == 3001 and asyncio.run(engine.catch_up("p", "o")) == 3001
    assert looked == []
    clock.advance(2.0)  # "soon" is due; the scheduler has not run: admission finishes it
    assert asyncio.run(engine.catch_up("p", "o")) == 3000 and looked == ["soon"]
    assert engine.tasks["soon"].finished and engine.unfinished("p", "o") == 3000
    clock.advance(5.0)
    assert engine.unfinished("p", "o") == 0 and not engine._ends and not engine._ripe


@pytest.mark.parametrize("ttl", [10.0, Retention(10.0)])
def test_a_stored_object_is_dropped_when_its_ttl_ends(ttl) -> None:
    clock = Clock("virtual", start=0)
    store = FileStore(clock, max_bytes=1 << 20)
    store.put("b", "k", b"123", "x", ttl=ttl)
    clock.advance(9.9)
    assert store.exists("b", "k")
    clock.advance(0.2)
    assert store.get("b", "k") is None and store.eviction("b", "k").cause == "expired"
    assert store.evictions() == [] and store.total_bytes == 0
