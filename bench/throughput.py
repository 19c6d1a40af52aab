"""Query-endpoint throughput and latency at a fixed number of keep-alive connections.

A fresh mock answers the docs' finished remove-background task once; the bare app then serves
exactly those bytes. Each round starts a fresh server per variant, warms up, then measures:

- ``bare``: ``python -m bench.baseline`` (Starlette, access log off);
- ``mock``: ``bgmock serve --clock virtual --log-level warning``;
- ``mock_info`` (optional): ``bgmock serve --clock virtual``, i.e. the default ``info`` level
  with uvicorn's access log on, its output to a file.

Variants alternate within each round; the reported figure is the median over rounds.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import load, procs

TASK_ID = "56eac11a862143989e9cc63f8b213a2d"
PATH = f"/topview/v1/common_task/remove_background/query?taskId={TASK_ID}"
HEADERS = {"Topview-Uid": "NsDAaOPF4jLuAie4ewyg",
           "Authorization": "Bearer sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"}


def mock_answer(core: int | None) -> bytes:
    """The mock's answer to the query, checked to be the finished task."""
    port = procs.free_port()
    with procs.server(procs.mock_command(port, "--log-level", "warning"), port, core):
        status, body = procs.get(port, PATH, HEADERS)
    answer = json.loads(body)
    if status != 200 or answer.get("code") != "200" or answer["result"]["status"] != "success":
        raise RuntimeError(f"unexpected answer from the mock: {status} {body[:300]!r}")
    return body


def _measure(argv: list[str], port: int, core: int | None, generator: str, connections: int,
             warmup: float, seconds: float) -> dict[str, Any]:
    """Load figures plus the server's CPU time per request over the measured window: less
    sensitive than requests/s to other processes competing for the server's core."""
    with procs.server(argv, port, core) as proc:
        if warmup > 0:
            load.run(generator, port, PATH, HEADERS, connections, warmup)
        cpu_before = procs.cpu_seconds(proc.pid)
        figures = load.run(generator, port, PATH, HEADERS, connections, seconds)
        cpu = procs.cpu_seconds(proc.pid) - cpu_before
    return figures.as_dict() | {
        "server_cpu_us_per_request": round(cpu / max(1, figures.requests) * 1e6, 1)}


def run(*, rounds: int, connections: int, warmup: float, seconds: float, generator: str,
        server_core: int | None, with_info: bool, progress: Callable[[str], None] = print
        ) -> dict[str, Any]:
    body = mock_answer(server_core)
    variants: dict[str, Callable[[int, Path], list[str]]] = {
        "bare": lambda port, body_file: procs.bare_command(port, body_file),
        "mock": lambda port, _: procs.mock_command(port, "--log-level", "warning"),
    }
    if with_info:
        variants["mock_info"] = lambda port, _: procs.mock_command(port)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    with tempfile.NamedTemporaryFile(suffix=".json") as body_file:
        body_file.write(body)
        body_file.flush()
        for round_no in range(1, rounds + 1):
            for name, argv_for in variants.items():
                port = procs.free_port()
                figures = _measure(argv_for(port, Path(body_file.name)), port, server_core,
                                   generator, connections, warmup, seconds)
                results[name].append(figures)
                progress(f"  round {round_no} {name:9} {line(figures)}")
    summary = {name: _median(runs) for name, runs in results.items()}
    return {
        "path": PATH, "answer_bytes": len(body), "connections": connections,
        "warmup_s": warmup, "seconds": seconds, "rounds": rounds,
        "runs": results,
        "median": summary,
        "ratio_mock_to_bare": round(summary["mock"]["rps"] / summary["bare"]["rps"], 3),
        **({"ratio_info_to_warning": round(summary["mock_info"]["rps"]
                                           / summary["mock"]["rps"], 3)} if with_info else {}),
    }


def line(f: dict[str, Any]) -> str:
    return (f"{f['rps']:9.1f} req/s  p50 {f['p50_ms']:.2f} ms  p99 {f['p99_ms']:.2f} ms  "
            f"server CPU {f['server_cpu_us_per_request']:.0f} us/req  errors {f['errors']}")


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_request")
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in keys} | {
        "errors": sum(r["errors"] for r in runs)}
