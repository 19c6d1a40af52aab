"""Runware's benchmarks (bench/runware.py) and its ratio row (bench/providers.py), briefly: the
quick mode of every part against ``bgmock serve`` with its defaults, and the row's request
against a server. (The figures themselves come from ``python -m bench.runware``.)"""

from __future__ import annotations

import json

import httpx
from bgmock.server.testing import MockServer

from bench import procs, providers
from bench import runware as bench_runware


def test_the_ratio_row_reads_a_finished_task(bgmock_server: MockServer) -> None:
    port = httpx.URL(bgmock_server.base_url).port
    assert port is not None
    (request,) = providers.runware_get_response(port)
    assert request.method == "POST" and request.path == "/runware/v1"
    (task,) = json.loads(request.body)
    assert task["taskType"] == "getResponse"
    status, _, body = procs.send(port, request.raw())
    answer = json.loads(body)
    assert providers.runware_finished(status, answer) is None
    assert answer["data"][0]["taskUUID"] == task["taskUUID"]
    assert "expected" in (providers.runware_finished(404, {"errors": []}) or "")
    row = next(p for p in providers.HOT_PATHS if p.slug == "runware_get_response")
    assert row.target == 0.7 and row.serve_args == () and row.config is None  # defaults


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench_runware.percentile(values, 0.5) == 50.0
    assert bench_runware.percentile(values, 0.99) == 99.0
    assert bench_runware.percentile([3.0], 0.99) == 3.0
    assert bench_runware.latency([0.001, 0.002])["p50_ms"] == 1.0


def test_quick_mode_runs_every_part() -> None:
    """Every loop makes at least one call (each client starts one before the window ends), and
    none fails; how many land inside the short window depends on the machine's load."""
    report = bench_runware.run(bench_runware.PARTS, bench_runware.QUICK)
    assert bench_runware.failures(report) == 0
    assert [row["side"] for row in report["rest"]] == list(bench_runware.SIZES)
    for row in report["rest"]:
        assert row["calls"] >= bench_runware.QUICK.clients and row["server_cpu_ms_each"] > 0
        assert row["removals"] <= row["calls"] and row["count"] <= row["removals"]
    for phase in ("ping", "removal_64"):
        figures = report["ws"][phase]
        assert figures["calls"] >= bench_runware.QUICK.connections
        assert figures["connections"] == bench_runware.QUICK.connections
        if figures["count"]:
            assert figures["p50_ms"] <= figures["p99_ms"]
    sdk = report["sdk"]
    assert sdk["images"] == bench_runware.QUICK.sdk_images and sdk["median_ms"] > 0
