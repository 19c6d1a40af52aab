"""Mock / bare throughput of one hot path (``bench.providers.HotPath``) at N keep-alive
connections.

The first mock answers the path's first request once; the bare app (``python -m bench.baseline``)
then serves exactly that status, content type and body on the same method and path. Each round
starts a fresh server per variant (``mock``, then ``bare``: A B A B), warms up, then measures;
the reported figure is the median over rounds. A path with ``history`` set also measures a
second window right after the first, on the same mock, and reports the server's CPU per
request in both (does the cost grow with the tasks created?) plus its RSS and the tasks made.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import load, procs
from bench.load import HttpRequest
from bench.providers import HotPath


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Window:
    """How long each load runs and with how many connections."""

    connections: int
    warmup: float
    seconds: float


@contextmanager
def _config(path: HotPath) -> Iterator[tuple[str, ...]]:
    """``bgmock serve`` arguments for the path, with its config file while it is needed."""
    if path.config is None:
        yield path.serve_args
        return
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(path.config, f)
        f.flush()
        yield (*path.serve_args, "--config", f.name)


def capture(path: HotPath, port: int, request: HttpRequest) -> Answer:
    """The mock's answer to ``request``, checked with ``path.expect``."""
    status, headers, body = procs.send(port, request.raw())
    try:
        answer: Any = json.loads(body)
    except ValueError:
        answer = None
    problem = path.expect(status, answer)
    if problem:
        raise RuntimeError(f"{path.name}: unexpected answer from the mock: {problem}; "
                           f"{body[:300]!r}")
    return Answer(status, headers.get("content-type", "application/json"), body)


@dataclass
class _Captured:
    """What the first mock of a run answered: the bare app serves it, to the same requests."""

    answer: Answer | None = None
    requests: tuple[HttpRequest, ...] = ()


def _measure(argv: list[str], port: int, core: int | None, generator: str, window: Window,
             requests: Callable[[int], tuple[HttpRequest, ...]], history: bool = False,
             stored: Callable[[int], int] | None = None,
             before: Callable[[int, tuple[HttpRequest, ...]], None] | None = None
             ) -> dict[str, Any]:
    """Load figures plus the server's CPU time per request over the measured window: less
    sensitive than requests/s to other processes competing for the server's core."""
    with procs.server(argv, port, core) as proc:
        sent = requests(port)
        if before is not None:
            before(port, sent)
        warm = load.run(generator, port, sent, window.connections, window.warmup) \
            if window.warmup > 0 else None
        cpu_before = procs.tree_cpu_seconds(proc.pid)
        figures = load.run(generator, port, sent, window.connections, window.seconds)
        cpu = procs.tree_cpu_seconds(proc.pid) - cpu_before
        result = figures.as_dict() | {
            "server_cpu_us_per_request": round(cpu / max(1, figures.requests) * 1e6, 1)}
        if history:
            result["history"] = _later(proc.pid, port, generator, window, sent, result,
                                       warm.requests if warm else 0)
            if stored is not None:
                result["history"]["tasks_stored"] = stored(port)
    return result


def _later(pid: int, port: int, generator: str, window: Window, sent: tuple[HttpRequest, ...],
           first: dict[str, Any], warm_requests: int) -> dict[str, Any]:
    """A second window on the same mock: CPU per request early and late, RSS, tasks made
    (the stored count also has the requests in flight when each load stopped)."""
    rss_early = procs.rss_mb(pid)
    cpu_before = procs.tree_cpu_seconds(pid)
    later = load.run(generator, port, sent, window.connections, window.seconds)
    cpu = procs.tree_cpu_seconds(pid) - cpu_before
    late_us = round(cpu / max(1, later.requests) * 1e6, 1)
    return {"requests_before_late_window": warm_requests + first["requests"],
            "requests_total": warm_requests + first["requests"] + later.requests,
            "early_cpu_us_per_request": first["server_cpu_us_per_request"],
            "late_cpu_us_per_request": late_us,
            "late_to_early_cpu": round(late_us / max(1e-9, first["server_cpu_us_per_request"]),
                                       3),
            "late_rps": later.rps, "late_errors": later.errors,
            "rss_mb_after_first_window": rss_early, "rss_mb_after_late_window":
            procs.rss_mb(pid)}


def run(path: HotPath, *, rounds: int, window: Window, generator: str,
        server_core: int | None, history: bool = True,
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Rounds of mock then bare, each a fresh server; round 1's mock first answers the path's
    first request once, and that answer is what every bare server sends."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    captured = _Captured()

    def capture_once(port: int, sent: tuple[HttpRequest, ...]) -> None:
        if captured.answer is None:
            captured.answer, captured.requests = capture(path, port, sent[0]), sent

    results: dict[str, list[dict[str, Any]]] = {"mock": [], "bare": []}
    with _config(path) as args, tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "answer.body"
        for round_no in range(1, rounds + 1):
            port = procs.free_port()
            figures = _measure(procs.mock_command(port, *args), port, server_core, generator,
                               window, path.requests, path.history and history, path.stored,
                               capture_once)
            results["mock"].append(figures)
            progress(f"  {path.slug} round {round_no} mock {line(figures)}")
            answer, first = captured.answer, captured.requests[0]
            assert answer is not None  # set by the first mock
            body_file.write_bytes(answer.body)
            bare_args = ("--method", first.method, "--path", first.path,
                         "--status", str(answer.status), "--content-type", answer.content_type)
            port = procs.free_port()
            figures = _measure(procs.bare_command(port, body_file, *bare_args), port,
                               server_core, generator, window, lambda _: captured.requests)
            results["bare"].append(figures)
            progress(f"  {path.slug} round {round_no} bare {line(figures)}")
    summary = {name: _median(runs) for name, runs in results.items()}
    history = [r["history"] for r in results["mock"] if "history" in r]
    return {
        "key": path.slug, "name": path.name, "target": path.target, "note": path.note,
        "method": first.method, "path": first.path, "requests_rotated": len(captured.requests),
        "answer_status": answer.status, "answer_bytes": len(answer.body),
        "connections": window.connections, "warmup_s": window.warmup,
        "seconds": window.seconds, "rounds": rounds, "runs": results, "median": summary,
        "ratio_mock_to_bare": round(summary["mock"]["rps"] / max(1e-9, summary["bare"]["rps"]),
                                    3),
        **({"history": history} if history else {}),
    }


def line(f: dict[str, Any]) -> str:
    return (f"{f['rps']:9.1f} req/s  p50 {f['p50_ms']:.2f} ms  p99 {f['p99_ms']:.2f} ms  "
            f"server CPU {f['server_cpu_us_per_request']:.0f} us/req  errors {f['errors']}")


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds; a round without a figure (wrk printed no latency: nan) is
    left out of that figure's median."""
    keys = ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_request")

    def median(values: list[float]) -> float:
        found = [v for v in values if not math.isnan(v)]
        return round(statistics.median(found), 3) if found else math.nan

    return {k: median([r[k] for r in runs]) for k in keys} | {
        "errors": sum(r["errors"] for r in runs)}
