"""Aidge cut-out (``POST /aidge/rest/ai/image/cut/out``): requests/s at 512x512 and 2048x2048,
and the share of the server's time spent in imaging.

Two parts, the in-process one first (nothing else running, on the server's core, in a worker
thread as in the server):

- **imaging**: ``service.render()`` (probe, decode, segment, cut-out, fit, encode: what the
  server runs in an ``asyncio.to_thread`` worker) timed in a loop in CPU time of its thread; the
  same pipeline stage by stage (JSON parse and base64 decode, which the server does on its event
  loop, included); and the whole app called in process (``httpx.ASGITransport``, no socket);
- **load**: a fresh ``bgmock serve --clock real --log-level warning --config <file>`` per case,
  where the file adds an Aidge account with limits high enough never to refuse (the demo
  account allows 10 requests/s). A closed loop of N keep-alive connections from an asyncio
  raw-socket client POSTs the same signed v2 request; every answer must be HTTP 200 with
  ``"success": true`` (a run with failures is invalid). After the warm-up, requests completed
  in the measured window count; the server's CPU is sampled per thread, and the client's, at
  the window's edges.

Imaging share (``imaging_share``) = CPU of the server's worker threads (``render()`` only) /
CPU of the whole server, over the same window. Cross-check (``render_share``): in-process
render CPU per call / server CPU per request (two measurements, so noisier).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import importlib.metadata
import io
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import procs

PATH = "/aidge/rest/ai/image/cut/out"
APP_KEY, SECRET = "bench", "bench-secret"
CONFIG = {"accounts": {"aidge": [{"app_key": APP_KEY, "secret": SECRET, "qps": 1_000_000,
                                  "burst": 1_000_000, "quota": 100_000_000, "trial_quota": 0}]}}
SEED = "bench"
MAX_REQUESTS = 100_000          # per load run, on top of the time bound
MAX_FAILURE_SAMPLES = 3
IMAGING_REPEAT = 100            # in-process calls per case, at most ...
IMAGING_BUDGET_S = 4.0          # ... and at most this long (each of render and stages)


@dataclass(frozen=True)
class Case:
    side: int
    background: str = "TRANSPARENT"
    target: int | None = None   # targetWidth = targetHeight

    @property
    def name(self) -> str:
        fit = f" -> {self.target}x{self.target}" if self.target else ""
        return f"{self.side}x{self.side} {self.background}{fit}"

    def params(self, image_base64: str) -> dict[str, Any]:
        body: dict[str, Any] = {"imageBase64": image_base64, "backGroundType": self.background}
        if self.target:
            body |= {"targetWidth": self.target, "targetHeight": self.target}
        return body


CASES = (Case(512), Case(2048), Case(2048, "WHITE_BACKGROUND", 800))


def input_png(side: int) -> bytes:
    from bgmock.server.core import imaging

    return imaging.encode(imaging.synthetic_product(SEED, side, side), "png")


def signed_path(key: str = APP_KEY, secret: str = SECRET, millis: int | None = None) -> str:
    """The cut-out path with v2 system parameters: HMAC-SHA256(secret, secret + timestamp)."""
    timestamp = str(millis if millis is not None else int(time.time() * 1000))
    sign = hmac.new(secret.encode(), (secret + timestamp).encode(), hashlib.sha256)
    return (f"{PATH}?partner_id=aidge&sign_method=sha256&sign_ver=v2&app_key={key}"
            f"&timestamp={timestamp}&sign={sign.hexdigest().upper()}")


def post_bytes(path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {procs.HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


# --- imaging, in process ------------------------------------------------------------------

def _bounded(repeat: int, budget_s: float) -> Iterator[int]:
    deadline = time.perf_counter() + budget_s
    for i in range(repeat):
        if i >= 3 and time.perf_counter() > deadline:
            return
        yield i


def _ms(ns: float) -> float:
    return round(ns / 1e6, 3)


def render_cpu(data: bytes, case: Case, repeat: int = IMAGING_REPEAT,
               budget_s: float = IMAGING_BUDGET_S) -> dict[str, Any]:
    """``service.render()`` per call: thread CPU (mean, median) and wall time (median)."""
    from bgmock.server.core import imaging
    from bgmock.server.providers.aidge import service

    limits = imaging.Limits(len(data) + 1, 10**9)
    target = (case.target, case.target)
    service.render(data, limits, case.background, target)  # untimed: first-call costs
    cpu, wall = [], []
    for _ in _bounded(repeat, budget_s):
        c, w = time.thread_time_ns(), time.perf_counter_ns()
        service.render(data, limits, case.background, target)
        cpu.append(time.thread_time_ns() - c)
        wall.append(time.perf_counter_ns() - w)
    return {"calls": len(cpu), "cpu_mean_ms": _ms(statistics.fmean(cpu)),
            "cpu_median_ms": _ms(statistics.median(cpu)), "wall_median_ms":
            _ms(statistics.median(wall))}


def _pipeline(body: bytes, case: Case, mark: Callable[[str], None]) -> None:
    """What the server does with one request body, in ``service.render()``'s order."""
    from bgmock.server.core import imaging
    from bgmock.server.providers.aidge import service

    params = json.loads(body)
    mark("json_parse")
    encoded = params["imageBase64"]
    data = base64.b64decode(service.DATA_URI.sub("", "".join(encoded.split())), validate=True)
    mark("base64_decode")
    limits = imaging.Limits(len(data) + 1, 10**9)
    imaging.probe(data, limits)
    mark("probe")
    image = imaging.decode(data, limits)
    mark("decode")
    cut = imaging.cut_out(image)
    mark("cut_out")
    if case.target is None:
        subject = image.copy()
        subject.putalpha(cut.mask)
        mark("compose")
    else:
        subject = imaging.fit(cut.cropped, case.target, case.target, (0, 0, 0, 0))
        mark("fit")
    if case.background == "WHITE_BACKGROUND":
        flat = imaging.on_background(subject, service.WHITE)
        mark("flatten")
        imaging.encode(flat, "jpg")
    else:
        imaging.encode(subject, "png")
    mark("encode")


def stage_cpu(body: bytes, case: Case, repeat: int = IMAGING_REPEAT,
              budget_s: float = IMAGING_BUDGET_S) -> dict[str, float]:
    """Median thread CPU (ms) of each stage and their sum. ``cut_out`` includes segmentation;
    ``(segment alone)``, timed in a loop of its own, says how much."""
    samples: dict[str, list[int]] = {}
    last = [0]

    def mark(name: str) -> None:
        samples.setdefault(name, []).append(time.thread_time_ns() - last[0])
        last[0] = time.thread_time_ns()  # the bookkeeping above is not charged to a stage

    _pipeline(body, case, lambda _: None)  # untimed: first-call costs
    for _ in _bounded(repeat, budget_s):
        last[0] = time.thread_time_ns()
        _pipeline(body, case, mark)
    stages = {name: _ms(statistics.median(ns)) for name, ns in samples.items()}
    stages["pipeline"] = round(sum(stages.values()), 3)
    stages["calls"] = len(samples["encode"])
    stages["(segment alone)"] = _segment_cpu(body, budget_s)
    return stages


def _segment_cpu(body: bytes, budget_s: float) -> float:
    """Median thread CPU (ms) of ``imaging.segment()`` alone: part of ``cut_out``."""
    from bgmock.server.core import imaging

    data = base64.b64decode(json.loads(body)["imageBase64"])
    image = imaging.decode(data, imaging.Limits(len(data) + 1, 10**9))
    imaging.segment(image)
    cpu = []
    for _ in _bounded(IMAGING_REPEAT, budget_s):
        started = time.thread_time_ns()
        imaging.segment(image)
        cpu.append(time.thread_time_ns() - started)
    return _ms(statistics.median(cpu))


def app_cpu(body: bytes, repeat: int = IMAGING_REPEAT,
            budget_s: float = IMAGING_BUDGET_S) -> dict[str, Any]:
    """Process CPU per request of the whole mock app called in process (``httpx.ASGITransport``,
    no socket, one request at a time): render plus everything around it (auth, validation,
    base64, the worker thread, storing the result, the answer), plus httpx's own few 0.1 ms."""
    import httpx
    from bgmock.server.app import create_app
    from bgmock.server.settings import Settings

    app = create_app(Settings(clock="real", log_level="warning", accounts=CONFIG["accounts"]))
    headers = {"content-type": "application/json"}

    async def post(client: httpx.AsyncClient) -> float:
        started = time.process_time()
        answer = await client.post(signed_path(), content=body, headers=headers)
        used = time.process_time() - started
        if answer.json().get("success") is not True:
            raise RuntimeError(f"in-process app: {answer.text[:300]}")
        return used

    async def measure() -> list[float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await post(client)  # untimed: first-call costs
            return [await post(client) for _ in _bounded(repeat, budget_s)]

    cpu = asyncio.run(measure())
    return {"calls": len(cpu), "cpu_mean_ms": round(statistics.fmean(cpu) * 1000, 3)}


# --- load -----------------------------------------------------------------------------------

@dataclass
class _Tally:
    window: tuple[float, float]
    latencies: list[float]
    completed: int = 0
    failures: int = 0
    socket_errors: int = 0
    samples: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.failures += 1
        if len(self.samples) < MAX_FAILURE_SAMPLES:
            self.samples.append(what[:300])


_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


async def _read_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = _LENGTH.search(head)
    return head, await reader.readexactly(int(length.group(1)) if length else 0)


def check(head: bytes, body: bytes) -> str | None:
    """None for a successful cut-out, else what was wrong."""
    if head[9:12] != b"200":
        return f"HTTP {head[9:12].decode()}: {body[:200]!r}"
    try:
        answer = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    if answer.get("success") is not True:
        return f"success {answer.get('success')!r}: {body[:200]!r}"
    return None


async def _connection(port: int, request: bytes, tally: _Tally) -> None:
    reader, writer = await asyncio.open_connection(procs.HOST, port)
    start, stop = tally.window
    try:
        while time.perf_counter() < stop and tally.completed < MAX_REQUESTS:
            sent = time.perf_counter()
            writer.write(request)
            head, body = await _read_answer(reader)
            done = time.perf_counter()
            tally.completed += 1
            problem = check(head, body)
            if problem:
                tally.fail(problem)
            elif start <= done <= stop:
                tally.latencies.append(done - sent)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        tally.socket_errors += 1
        tally.fail(f"socket: {exc!r}")
    finally:
        writer.close()


@dataclass(frozen=True)
class _Sample:
    at: float
    threads: dict[int, tuple[float, float]]   # server thread id -> (user, system) CPU seconds
    client: float                              # this process's CPU seconds


def _threads(pid: int) -> dict[int, tuple[float, float]]:
    """User and system CPU seconds of each thread of a process so far, from /proc."""
    tick, found = os.sysconf("SC_CLK_TCK"), {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread may end meanwhile
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            found[int(task.name)] = (int(fields[11]) / tick, int(fields[12]) / tick)
    return found


async def _sample_at(moment: float, pid: int) -> _Sample:
    await asyncio.sleep(max(0.0, moment - time.perf_counter()))
    return _Sample(time.perf_counter(), _threads(pid), time.process_time())


def _server_cpu(pid: int, before: _Sample, after: _Sample) -> dict[str, float]:
    """CPU seconds over the window: all, system, the main thread (the event loop: HTTP, JSON,
    base64, auth, validation, storing, the answer) and the other threads (``asyncio.to_thread``
    workers: only ``render()`` on this path). A thread born in the window started at 0."""
    used = {tid: (user - before.threads.get(tid, (0.0, 0.0))[0],
                  system - before.threads.get(tid, (0.0, 0.0))[1])
            for tid, (user, system) in after.threads.items()}
    total = sum(u + s for u, s in used.values())
    loop = sum(used.get(pid, (0.0, 0.0)))
    return {"total": total, "system": sum(s for _, s in used.values()), "loop": loop,
            "workers": total - loop}


async def _load(port: int, pid: int, request: bytes, connections: int, warmup: float,
                seconds: float) -> dict[str, Any]:
    began = time.perf_counter()
    tally = _Tally((began + warmup, began + warmup + seconds), [])
    sampler = asyncio.gather(_sample_at(tally.window[0], pid), _sample_at(tally.window[1], pid))
    await asyncio.gather(*(_connection(port, request, tally) for _ in range(connections)))
    before, after = await sampler
    window, done = after.at - before.at, len(tally.latencies)
    lat = sorted(tally.latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else 0.0

    cpu = _server_cpu(pid, before, after)
    per_request = 1000 / max(1, done)
    return {"connections": connections, "warmup_s": warmup, "seconds": round(window, 3),
            "requests": done, "rps": round(done / window, 2),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
            "server_cpu_ms_per_request": round(cpu["total"] * per_request, 2),
            "server_loop_cpu_ms_per_request": round(cpu["loop"] * per_request, 2),
            "server_worker_cpu_ms_per_request": round(cpu["workers"] * per_request, 2),
            "imaging_share": round(cpu["workers"] / max(1e-9, cpu["total"]), 3),
            "server_cpu_share": round(cpu["total"] / window, 3),
            "server_system_share_of_cpu": round(cpu["system"] / max(1e-9, cpu["total"]), 3),
            "client_cpu_share": round((after.client - before.client) / window, 3),
            "requests_all": tally.completed, "failures": tally.failures,
            "socket_errors": tally.socket_errors, "failure_samples": tally.samples}


def load(port: int, pid: int, request: bytes, connections: int, warmup: float,
         seconds: float) -> dict[str, Any]:
    try:  # the client must not be the bottleneck: uvloop when it is installed
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    return run_loop(_load(port, pid, request, connections, warmup, seconds))


def first_answer(port: int, request: bytes, case: Case) -> dict[str, Any]:
    """One request on its own connection, checked, and its result image downloaded and opened:
    the answer is real before the load starts."""
    import socket

    from PIL import Image

    with socket.create_connection((procs.HOST, port), timeout=30) as s:
        s.sendall(request)
        reader = s.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += reader.readline()
        length = _LENGTH.search(head)
        body = reader.read(int(length.group(1)) if length else 0)
    problem = check(head, body)
    if problem:
        raise RuntimeError(f"{case.name}: {problem}")
    data = json.loads(body)["data"]
    url = urlsplit(data["imageUrl"])
    status, image = procs.get(port, f"{url.path}?{url.query}", timeout=30)
    with Image.open(io.BytesIO(image)) as img:
        found = (status, img.format, img.size, img.mode)
    expected_size = (case.target, case.target) if case.target else (case.side, case.side)
    expected = (200, "JPEG" if case.background == "WHITE_BACKGROUND" else "PNG", expected_size,
                "RGB" if case.background == "WHITE_BACKGROUND" else "RGBA")
    if found != expected:
        raise RuntimeError(f"{case.name}: result image {found}, expected {expected}")
    return {"answer_bytes": len(body), "score": data.get("score"), "result_bytes": len(image),
            "result": f"{found[1]} {found[2][0]}x{found[2][1]} {found[3]}"}


@contextmanager
def config_file() -> Iterator[Path]:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(CONFIG, f)
        f.flush()
        yield Path(f.name)


def command(port: int, config: Path) -> list[str]:
    # mock_command() says --clock virtual; the later --clock wins (argparse)
    return procs.mock_command(port, "--clock", "real", "--log-level", "warning",
                              "--config", str(config))


# --- the whole benchmark --------------------------------------------------------------------

@contextmanager
def _on_core(core: int | None) -> Iterator[None]:
    """Run this process on ``core`` for a while (same conditions as the server), then back."""
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    procs.pin_self(core)
    try:
        yield
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)


def _in_process(case: Case, png: bytes, encoded: str, budget_s: float,
                progress: Callable[[str], None]) -> dict[str, Any]:
    body = json.dumps(case.params(encoded)).encode()
    with ThreadPoolExecutor(1) as worker:  # as in the server: a worker thread (its own arena)
        render = worker.submit(render_cpu, png, case, budget_s=budget_s).result()
        stages = worker.submit(stage_cpu, body, case, budget_s=budget_s).result()
    app = app_cpu(body, budget_s=budget_s)
    progress(f"    {case.name:34} render {render['cpu_mean_ms']:.1f} ms CPU "
             f"({render['calls']} calls), whole app in process {app['cpu_mean_ms']:.1f} ms; "
             "stages: " + stage_line(stages))
    return {"case": case.name, "side": case.side, "background": case.background,
            "target": case.target, "input_png_bytes": len(png), "body_bytes": len(body),
            "render": render, "stages_ms": stages, "app_in_process": app}


def run(*, connections: tuple[int, ...], warmup: float, seconds: float, server_core: int | None,
        cases: tuple[Case, ...] = CASES, imaging_budget_s: float = IMAGING_BUDGET_S,
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    pngs = {side: input_png(side) for side in sorted({c.side for c in cases})}
    encoded = {side: base64.b64encode(png).decode() for side, png in pngs.items()}
    progress("  imaging in process, on the server's core (thread CPU, median per stage):")
    with _on_core(server_core):
        results = [_in_process(case, pngs[case.side], encoded[case.side], imaging_budget_s,
                               progress) for case in cases]
    progress(f"  load: connections {', '.join(map(str, connections))}; {warmup:g} s warm-up + "
             f"{seconds:g} s each; a fresh server per case")
    with config_file() as config:
        for case, figures in zip(cases, results, strict=True):
            port = procs.free_port()
            with procs.server(command(port, config), port, server_core) as proc:
                body = json.dumps(case.params(encoded[case.side])).encode()
                request = post_bytes(signed_path(), body)
                figures["first_answer"] = first_answer(port, request, case)
                figures["load"] = []
                for n in connections:
                    run_figures = load(port, proc.pid, request, n, warmup, seconds)
                    run_figures["render_share"] = round(
                        figures["render"]["cpu_median_ms"]
                        / max(1e-9, run_figures["server_cpu_ms_per_request"]), 3)
                    figures["load"].append(run_figures)
                    progress(f"    {case.name:34} {line(run_figures)}")
    failures = sum(r["failures"] for f in results for r in f["load"])
    return {"path": PATH, "account": {"app_key": APP_KEY, **CONFIG["accounts"]["aidge"][0],
                                      "secret": "<bench secret>"},
            "input": f"imaging.synthetic_product({SEED!r}, side, side) as PNG",
            "pillow": importlib.metadata.version("pillow"), "connections": list(connections),
            "warmup_s": warmup, "seconds": seconds, "cases": results, "failures": failures,
            "valid": failures == 0}


def stage_line(stages: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in stages.items()
                     if k not in ("calls", "json_parse") and v >= 0.05)


def line(f: dict[str, Any]) -> str:
    return (f"c={f['connections']:<2} {f['rps']:6.2f} req/s  p50 {f['p50_ms']:6.1f} ms  "
            f"p99 {f['p99_ms']:6.1f} ms  server CPU {f['server_cpu_ms_per_request']:5.1f} ms/req "
            f"(loop {f['server_loop_cpu_ms_per_request']:.1f}; {f['server_cpu_share']:.0%} of a "
            f"core)  client CPU {f['client_cpu_share']:.0%}  imaging {f['imaging_share']:.0%} "
            f"(render/CPU {f['render_share']:.0%})  n={f['requests']}  failures {f['failures']}")
