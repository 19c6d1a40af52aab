"""Rows 7 and 8: Aidge 1024x1024 cut-outs from 8 clients, alone (cut-outs per second), then
with the Topview query under load at 32 connections beside them (the query's p99).

One ``bgmock serve --config <file>`` (defaults otherwise, real clock) where the file adds an
Aidge account whose limits never refuse (the demo account allows 10 requests/s). The server is
NOT pinned to a core: isolating the image work (a process pool) needs the other core (D143). The
cut-out clients (``bench.cutout``'s checked asyncio client) and wrk run from this process's
core. Every cut-out answer must be a success (failures make the run invalid).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from bench import cutout, load, procs
from bench.load import get
from bench.plan import Plan
from bench.providers import TOPVIEW_HEADERS, TOPVIEW_QUERY

SIDE = 1024
CASE = cutout.Case(SIDE)


def _cutout_request() -> bytes:
    encoded = base64.b64encode(cutout.input_png(SIDE)).decode()
    return cutout.post_bytes(cutout.signed_path(), json.dumps(CASE.params(encoded)).encode())


def run(plan: Plan, generator: str, progress: Callable[[str], None] = print) -> dict[str, Any]:
    request = _cutout_request()
    query = (get(TOPVIEW_QUERY, TOPVIEW_HEADERS),)
    result: dict[str, Any] = {"side": SIDE, "clients": plan.cutout_clients,
                              "connections": plan.connections, "server_core": None}
    with cutout.config_file() as config:
        port = procs.free_port()
        argv = procs.mock_command(port, "--config", str(config))
        with procs.server(argv, port, None) as proc:
            result["first_answer"] = cutout.first_answer(port, request, CASE)
            if plan.query_alone:
                load.run(generator, port, query, plan.connections, plan.warmup)
                alone = load.run(generator, port, query, plan.connections, plan.seconds)
                result["query_alone"] = alone.as_dict()
                progress(f"  query alone: {alone.rps:.0f} req/s, p99 {alone.p99_ms:.2f} ms")
            cpu_before = procs.tree_cpu_seconds(proc.pid)
            cuts = cutout.load(port, proc.pid, request, plan.cutout_clients, plan.warmup,
                               plan.seconds)
            cpu = procs.tree_cpu_seconds(proc.pid) - cpu_before
            # with its child processes (an imaging pool), over warm-up and window alike
            cuts["tree_cpu_ms_per_request"] = round(cpu * 1000 / max(1, cuts["requests_all"]), 1)
            cuts["tree_processes"] = 1 + len(procs.descendants(proc.pid))
            result["cutouts_alone"] = cuts
            progress(f"  cut-outs alone: {line(cuts)}")
            result |= _together(port, proc.pid, request, plan, generator, progress)
    result["failures"] = (result["cutouts_alone"]["failures"]
                          + result["cutouts_beside_query"]["failures"])
    result["valid"] = result["failures"] == 0
    return result


def line(cuts: dict[str, Any]) -> str:
    return (f"{cuts['rps']:.2f}/s, p50 {cuts['p50_ms']} ms, p99 {cuts['p99_ms']} ms, "
            f"{cuts['tree_cpu_ms_per_request']} ms CPU per cut-out over "
            f"{cuts['tree_processes']} server process(es), n={cuts['requests']}, "
            f"failures {cuts['failures']}")


def _together(port: int, pid: int, request: bytes, plan: Plan, generator: str,
              progress: Callable[[str], None]) -> dict[str, Any]:
    """Cut-outs in a thread for the whole time; the query load starts once they run, warms
    up, then is measured."""
    query = (get(TOPVIEW_QUERY, TOPVIEW_HEADERS),)
    cut_seconds = plan.warmup + plan.seconds + 1
    box: dict[str, Any] = {}

    def cut() -> None:
        box["cuts"] = cutout.load(port, pid, request, plan.cutout_clients, plan.warmup,
                                  cut_seconds)

    worker = threading.Thread(target=cut, name="cut-outs", daemon=True)
    worker.start()
    time.sleep(plan.warmup)
    load.run(generator, port, query, plan.connections, plan.warmup)
    beside = load.run(generator, port, query, plan.connections, plan.seconds)
    worker.join(timeout=cut_seconds + 60)
    if "cuts" not in box:
        raise RuntimeError("the cut-out clients did not finish")
    progress(f"  query beside {plan.cutout_clients} cut-out clients: {beside.rps:.0f} req/s, "
             f"p99 {beside.p99_ms:.2f} ms; cut-outs meanwhile {box['cuts']['rps']:.2f}/s")
    return {"query_beside_cutouts": beside.as_dict(), "cutouts_beside_query": box["cuts"]}
