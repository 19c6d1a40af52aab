"""``python -m bench.history``: does a request's cost grow with history, and does memory stay
bounded? (issue 7, decisions D92 and D94). A bench, not a timed test.

Everything runs in this process: the mock app behind httpx's ASGI transport, one event loop,
the virtual clock, ``--seed 1``.

1. **Cost against history.** Submits ``--tasks`` (default 100,000) remove-background tasks one
   after another (each finishes at once: ``duration=0``), and at 1k and at the end times a
   window of ``--window`` submits, queries and credit reads (medians, in microseconds). The
   image work is replaced by precomputed PNGs so that the figures are the engine's, not
   Pillow's. Aim: the figure at the end within 1.5x of the one at 1k.
2. **Memory under a mixed load.** A fresh mock serves ``--requests`` (default 250,000) requests
   in cycles (upload credential, presigned PUT of a 64x64 PNG, submit, ``--polls`` queries
   (default 1; the last one finishes the task), credit read), real image work, while the
   virtual clock moves so that the run spans ``--days`` (default 30) days of mock time:
   records then go as the provider's retention says. RSS
   (VmRSS, after a garbage collection) is sampled every tenth of the run. Aim: < 120 MB.

Prints one JSON report (and saves it under ``bench/results/history-<UTC time>.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bgmock.server.app import create_app
from bgmock.server.core import imaging
from bgmock.server.providers.topview import service
from bgmock.server.settings import Settings

DEMO = {"Topview-Uid": "NsDAaOPF4jLuAie4ewyg",
        "Authorization": "Bearer sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"}
SUBMIT = "/topview/v1/common_task/remove_background/submit"
QUERY = "/topview/v1/common_task/remove_background/query"
CREDENTIAL = "/topview/v1/upload/credential"
CREDIT = "/topview/user/credit/detail"
BASE = "http://bgmock.test"
RESULTS = Path(__file__).resolve().parent / "results"


def rss_mb() -> float:
    gc.collect()
    with contextlib.suppress(OSError):  # hand freed pages back, as the server does
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def small_png(name: str, size: int = 64) -> bytes:
    return imaging.encode(imaging.synthetic_product(name, size, size), "png")


async def timed(action: Callable[[], Awaitable[httpx.Response]]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await action()
    return (time.perf_counter() - started) * 1e6, response.json()


class Mock:
    """One fresh in-process mock with an async client and a generous demo account."""

    def __init__(self) -> None:
        self.app = create_app(Settings(clock="virtual", seed=1))
        self.engine = self.app.state.engine
        account = self.engine.accounts.get("topview", DEMO["Topview-Uid"])
        account.credits, account.concurrency = 1e12, 10_000
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                      base_url=BASE)

    async def upload(self, data: bytes) -> str:
        credential = (await self.http.get(CREDENTIAL, params={"format": "png"},
                                          headers=DEMO)).json()["result"]
        (await self.http.put(credential["uploadUrl"], content=data)).raise_for_status()
        return str(credential["fileId"])

    def submit(self, file_id: str, fault: str | None = None
               ) -> Callable[[], Awaitable[httpx.Response]]:
        headers = {**DEMO, **({"X-Mock-Fault": fault} if fault else {})}
        return lambda: self.http.post(SUBMIT, json={"productImageFileId": file_id},
                                      headers=headers)

    def query(self, task_id: str) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: self.http.get(QUERY, params={"taskId": task_id}, headers=DEMO)

    def credit(self) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: self.http.get(CREDIT, headers=DEMO)


# --- 1. cost against history ----------------------------------------------------------------

async def cost_curve(tasks: int, window: int, marks: list[int]) -> list[dict[str, Any]]:
    cutout, mask, cut = service.render_cutout(small_png("history"), imaging.Limits(1 << 30,
                                                                                    1 << 30))
    service.render_cutout = lambda *_: (cutout, mask, cut)  # type: ignore[assignment]
    mock = Mock()
    file_id = await mock.upload(small_png("history"))
    curve, made, last = [], 0, ""
    for mark in sorted({*marks, tasks}):
        while made < mark - window:
            body = (await mock.submit(file_id, "duration=0")()).json()
            last = body["result"]["taskId"]
            made += 1
        submits, queries, credits = [], [], []
        for _ in range(window):
            micros, body = await timed(mock.submit(file_id, "duration=0"))
            submits.append(micros)
            last = body["result"]["taskId"]
            made += 1
            queries.append((await timed(mock.query(last)))[0])
            credits.append((await timed(mock.credit()))[0])
        curve.append({"storedTasks": len(mock.engine.tasks.tasks),
                      "submitUs": round(statistics.median(submits), 1),
                      "queryUs": round(statistics.median(queries), 1),
                      "creditUs": round(statistics.median(credits), 1),
                      "rssMb": rss_mb()})
        print(json.dumps(curve[-1]), file=sys.stderr, flush=True)
    await mock.http.aclose()
    return curve


# --- 2. memory under a mixed load -----------------------------------------------------------

async def mixed_load(requests: int, days: float, polls: int = 1,
                     samples: int = 10) -> dict[str, Any]:
    mock = Mock()
    per_cycle = 4 + polls
    cycles = requests // per_cycle
    step = days * 86400 / cycles if cycles else 0.0
    before = rss_mb()
    curve = []
    for n in range(cycles):
        file_id = await mock.upload(small_png(f"mixed-{n % 997}"))            # 2 requests
        body = (await mock.submit(file_id, f"polls={polls}")()).json()       # 1
        for _ in range(polls):                                                # the last ends it
            await mock.query(body["result"]["taskId"])()
        await mock.credit()()                                                 # 1
        if step:
            await mock.http.post("/__admin/clock/advance", json={"seconds": step})
        if (n + 1) % max(1, cycles // samples) == 0:
            engine = mock.engine
            curve.append({"requests": (n + 1) * per_cycle, "rssMb": rss_mb(),
                          "storedTasks": len(engine.tasks.tasks),
                          "storedObjects": engine.files.object_count,
                          "storedMb": round(engine.files.total_bytes / 2**20, 1),
                          "fileRecords": len(service.state(engine).files),
                          "deadlines": len(engine.timeline)})
            print(json.dumps(curve[-1]), file=sys.stderr, flush=True)
    await mock.http.aclose()
    return {"requests": cycles * per_cycle, "daysOfMockTime": days, "queriesPerTask": polls,
            "rssBeforeMb": before,
            "rssAfterMb": curve[-1]["rssMb"] if curve else before, "curve": curve}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.history",
                                description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--window", type=int, default=500)
    p.add_argument("--requests", type=int, default=250_000)
    p.add_argument("--days", type=float, default=30.0)
    p.add_argument("--polls", type=int, default=1, help="queries per task in the mixed load")
    p.add_argument("--only", choices=("cost", "memory"))
    args = p.parse_args(argv)
    report: dict[str, Any] = {"when": datetime.now(UTC).isoformat(timespec="seconds")}
    if args.only in (None, "memory"):  # first: a fresh process, before part 1's history
        report["memory"] = asyncio.run(mixed_load(args.requests, args.days, args.polls))
    if args.only in (None, "cost"):
        marks = [m for m in (1_000, 10_000, 50_000) if m < args.tasks]
        curve = asyncio.run(cost_curve(args.tasks, args.window, marks))
        report["cost"] = curve
        report["costRatio"] = {k: round(curve[-1][k] / curve[0][k], 2)
                               for k in ("submitUs", "queryUs", "creditUs")}
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"history-{stamp}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
