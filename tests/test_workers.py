"""Image work in worker processes (D150): errors cross the boundary intact, a dead worker fails
only its job and is replaced, waiting jobs are bounded and cancellable, nothing outlives the
server. In process (every other test) the same jobs run in threads."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bgmock.server.core import imaging, workers
from bgmock.server.providers.aidge import service as aidge
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock, free_port

from bench.procs import descendants
from tests import pool_jobs
from tests.aidge_calls import CUT_OUT, DOCS_URL, v2_query
from tests.task_flows import advance, query, submit, upload

LIMITS = imaging.Limits(max_bytes=5_000_000, max_pixels=4_000_000)


@pytest.fixture
def processes() -> Iterator[workers.ProcessPool]:
    pool = workers.configure(2, preload=("bgmock.server.core.imaging",),
                             setup=imaging.worker_setup)
    assert isinstance(pool, workers.ProcessPool)
    yield pool
    workers.shutdown()  # the next job gets the in-process threads again


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_image_errors_cross_the_process_boundary_intact(processes: workers.ProcessPool) -> None:
    with pytest.raises(imaging.ImageDecodeError) as decode_error:
        run(imaging.offload(imaging.decode, b"not an image", LIMITS))
    assert "in the imaging worker" in "".join(decode_error.value.__notes__)
    with pytest.raises(imaging.ImageTooLarge, match="limit 5000000"):
        run(imaging.offload(imaging.probe, b"\0" * 5_000_001, LIMITS))
    small = imaging.encode(imaging.synthetic_product("small", 99, 300), "png")
    with pytest.raises(aidge.SideOutOfRange):
        run(imaging.offload(aidge.render, small, LIMITS, "TRANSPARENT", (None, None)))
    with pytest.raises(RuntimeError, match="unpicklable imaging result"):
        run(imaging.offload(pool_jobs.raise_unpicklable))
    assert processes.pids(), "the work ran in worker processes"
    assert os.getpid() not in processes.pids()


def test_a_killed_worker_fails_its_job_and_the_pool_recovers(
        processes: workers.ProcessPool) -> None:
    assert run(imaging.offload(pool_jobs.blob, 256)) == bytes(range(256))
    with pytest.raises(imaging.ImageWorkerLost):
        run(imaging.offload(pool_jobs.die))
    assert run(imaging.offload(pool_jobs.blob, 512)) == bytes(range(256)) * 2

    async def killed_while_working() -> None:
        job = asyncio.ensure_future(imaging.offload(pool_jobs.span, 5.0))
        deadline = time.monotonic() + 10
        while not job.done() and time.monotonic() < deadline:  # kill whichever runs it
            await asyncio.sleep(0.1)
            for pid in processes.pids():
                with contextlib.suppress(ProcessLookupError):  # killed by the last round
                    os.kill(pid, signal.SIGKILL)
        with pytest.raises(imaging.ImageWorkerLost):
            await job
        assert len(await imaging.offload(pool_jobs.blob, 1024)) == 1024
    run(killed_while_working())


def test_at_most_one_job_per_worker_runs_at_once(processes: workers.ProcessPool) -> None:
    async def jobs() -> list[tuple[int, float, float]]:
        return list(await asyncio.gather(*(imaging.offload(pool_jobs.span, 0.15)
                                           for _ in range(6))))
    spans = run(jobs())
    moments = sorted([(start, 1) for _, start, _ in spans] + [(end, -1) for *_, end in spans])
    running, peak = 0, 0
    for _, step in moments:
        running += step
        peak = max(peak, running)
    assert peak <= processes.size == 2
    assert len({pid for pid, *_ in spans}) <= 2


def test_a_cancelled_waiting_job_never_runs(processes: workers.ProcessPool,
                                           tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    async def cancel_one() -> None:
        busy = [asyncio.ensure_future(imaging.offload(pool_jobs.span, 0.3)) for _ in range(2)]
        await asyncio.sleep(0.05)
        waiting = asyncio.ensure_future(imaging.offload(pool_jobs.touch, str(marker)))
        await asyncio.sleep(0.05)
        waiting.cancel()  # as a reset cancels a task's work
        await asyncio.gather(*busy)
        await imaging.offload(pool_jobs.blob, 256)
        await imaging.offload(pool_jobs.blob, 256)
    run(cancel_one())
    assert not marker.exists()


def test_tens_of_megabytes_come_back_whole(processes: workers.ProcessPool) -> None:
    data = run(imaging.offload(pool_jobs.blob, 40 << 20))
    assert len(data) == 40 << 20 and data[:256] == bytes(range(256))


def test_a_closed_pool_refuses_and_the_threads_take_over() -> None:
    pool = workers.configure(1)
    workers.shutdown()
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(pool_jobs.blob, (256,))
    assert isinstance(workers.pool(), workers.ThreadPool)
    assert run(imaging.offload(pool_jobs.blob, 256)) == bytes(range(256))


def test_provider_work_runs_in_the_workers(processes: workers.ProcessPool) -> None:
    """Topview (fixtures made lazily, a task's cut-out) and Aidge (a cut-out, a refused size)
    pass only picklable work: the same flows as in process, through worker processes."""
    mock = InProcessMock(Settings(clock="virtual", seed=3))

    async def flows() -> None:
        async with mock.async_client() as http:
            docs = await query(http, "56eac11a862143989e9cc63f8b213a2d")
            assert docs["code"] == "200", docs
            fixture = await http.get(docs["result"]["bgRemovedImagePath"])
            assert fixture.status_code == 200 and fixture.content.startswith(b"\x89PNG")
            task_id = await submit(http, await upload(http))
            await advance(http, 60)
            answer = await query(http, task_id)
            assert answer["result"]["status"] == "success", answer
            now = int(mock.engine.clock.now() * 1000)
            cut = await http.post(CUT_OUT, params=v2_query(now), json={
                "imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT"})
            assert cut.json()["success"] is True, cut.text
            small = imaging.encode(imaging.synthetic_product("s", 99, 300), "png")
            refused = await http.post(CUT_OUT, params=v2_query(now), json={
                "imageBase64": __import__("base64").b64encode(small).decode(),
                "backGroundType": "TRANSPARENT"})
            assert refused.json()["resCode"] == 703, refused.text
    run(flows())
    assert processes.pids()


# -- bgmock serve: the workers live and die with the server ------------------------------------

def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_no_worker_outlives_bgmock_serve(how: str) -> None:
    port = free_port()
    env = {**os.environ, "BGMOCK_PORT": str(port), "BGMOCK_LOG_LEVEL": "warning",
           "BGMOCK_IMAGING_PROCESSES": "2"}
    server = subprocess.Popen([sys.executable, "-m", "bgmock.server", "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # a Ctrl-C reaches the whole group
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/__admin/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        now = int(httpx.get(f"{base}/__admin/health").json()["clock"]["now"] * 1000)
        cut = httpx.post(base + CUT_OUT, params=v2_query(now), timeout=30, json={
            "imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT"})
        assert cut.json()["success"] is True, cut.text
        spawned = set(descendants(server.pid))
        assert len(spawned) >= 3, "a forkserver and two workers"
        if how == "SIGINT":
            os.killpg(server.pid, signal.SIGINT)  # as Ctrl-C in a terminal
        else:
            server.send_signal(getattr(signal, how))
        server.wait(timeout=15)
        deadline = time.monotonic() + 10
        while (left := {pid for pid in spawned if _alive(pid)}) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, f"orphans after {how}"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_closing_the_pool_ends_a_long_job_in_time(tmp_path: Path) -> None:
    pool = workers.configure(1, preload=("bgmock.server.core.imaging",))
    assert isinstance(pool, workers.ProcessPool)
    started = tmp_path / "started"
    job = pool.submit(pool_jobs.announce_and_hold, (str(started), 60.0))
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    pids = pool.pids()
    began = time.monotonic()
    workers.shutdown()
    assert time.monotonic() - began < workers.STOP_TIMEOUT + 3
    with pytest.raises(workers.WorkerLost):
        job.result(timeout=5)
    assert pids and not any(_alive(pid) for pid in pids)


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("2", 2), ("64", 64), ("", None),
                                             ("none", None)])
def test_imaging_processes_in_range_are_taken(text: str, value: int | None) -> None:
    from bgmock.server.settings import resolve

    assert resolve({}, environ={"BGMOCK_IMAGING_PROCESSES": text}).imaging_processes == value
    assert Settings().imaging_processes is None  # default: one per core under bgmock serve


@pytest.mark.parametrize("text", ["-1", "65", "1.5", "two", "1e3"])
def test_imaging_processes_out_of_range_are_refused(text: str) -> None:
    from bgmock.server.settings import resolve

    with pytest.raises(ValueError, match=r"^BGMOCK_IMAGING_PROCESSES: "):
        resolve({}, environ={"BGMOCK_IMAGING_PROCESSES": text})
    with pytest.raises(ValueError, match=r"^--imaging-processes: "):
        resolve({"imaging_processes": text}, environ={})


class LostPool:
    """Every job's worker dies: what the providers answer then."""

    def submit(self, fn, args):  # type: ignore[no-untyped-def]
        from concurrent.futures import Future

        future: Future = Future()
        future.set_exception(workers.WorkerLost("the imaging worker was lost: EOFError()"))
        return future

    def close(self) -> None:
        pass


def test_a_lost_worker_is_a_provider_answer_never_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    mock = InProcessMock(Settings(clock="virtual", seed=3))

    async def flows() -> tuple[dict, httpx.Response]:
        async with mock.async_client() as http:
            file_id = await upload(http)
            monkeypatch.setattr(workers, "_pool", LostPool())
            task_id = await submit(http, file_id)
            await advance(http, 60)
            task = await query(http, task_id)
            now = int(mock.engine.clock.now() * 1000)
            cut = await http.post(CUT_OUT, params=v2_query(now), json={
                "imageUrl": DOCS_URL, "backGroundType": "TRANSPARENT"})
            return task, cut
    task, cut = run(flows())
    assert task["result"]["status"] == "fail", task
    assert task["result"]["errorMsg"] == "image processing failed: the worker was lost"
    assert cut.status_code == 200 and cut.json()["resCode"] == 704, cut.text


def test_a_lost_worker_making_a_lazy_file_is_the_storage_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    mock = InProcessMock(Settings(clock="virtual", seed=3))

    async def download() -> tuple[httpx.Response, httpx.Response]:
        async with mock.async_client() as http:
            url = (await query(http, "56eac11a862143989e9cc63f8b213a2d"))["result"][
                "bgRemovedImagePath"]  # a docs fixture: made on its first download
            monkeypatch.setattr(workers, "_pool", LostPool())
            lost = await http.get(url)
            monkeypatch.setattr(workers, "_pool", None)  # threads again: made on a retry
            return lost, await http.get(url)
    lost, retried = run(download())
    assert lost.status_code == 500 and b"<Code>InternalError</Code>" in lost.content
    assert retried.status_code == 200 and retried.content.startswith(b"\x89PNG")
