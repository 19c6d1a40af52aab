"""Cold start: from spawning the server process to its first 200 on ``GET /__admin/health``.

The mock is started exactly as a user would (``bgmock serve --port P --clock virtual``); the
bare app is ``python -m bench.baseline --port P``. Runs alternate mock/bare after one untimed
start of each that may write byte-code caches (``__pycache__``, as any first run does, even
when ``PYTHONDONTWRITEBYTECODE`` is set here). Also breaks down, by top-level package, what
``bgmock serve`` imports before it can bind (``python -X importtime``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench import procs

HEALTH = "/__admin/health"


def start_once(argv_for_port: Callable[[int], list[str]], core: int | None,
               env: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds from spawn to the first 200, and the CPU seconds the server had used by then
    (10 ms ticks; insensitive to other processes taking the core)."""
    port = procs.free_port()
    argv = argv_for_port(port)
    started = time.perf_counter()
    proc = procs.spawn(argv, core, env=env)
    try:
        procs.wait_200(port, HEALTH, proc)
        return time.perf_counter() - started, procs.cpu_seconds(proc.pid)
    finally:
        procs.stop(proc)


def run(runs: int, core: int | None, warm: bool = True) -> dict[str, Any]:
    commands = {"mock": procs.mock_command, "bare": procs.bare_command}
    writing = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for argv_for_port in commands.values() if warm else ():  # untimed: page cache, pycache
        start_once(argv_for_port, core, env=writing)
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv_for_port in commands.items():
            wall, used = start_once(argv_for_port, core)
            seconds[name].append(wall)
            cpu[name].append(used)
    return {
        name: {"command": " ".join(commands[name](0)).replace("--port 0", "--port <port>"),
               "runs": [round(s, 4) for s in values],
               "median_s": round(statistics.median(values), 4),
               "min_s": round(min(values), 4),
               "cpu_runs": cpu[name],
               "cpu_median_s": round(statistics.median(cpu[name]), 3)}
        for name, values in seconds.items()}


# What `bgmock serve` imports before uvicorn binds: the CLI, uvicorn, the app and what
# create_app() imports lazily (providers, contracts).
SERVE_IMPORTS = ("import uvicorn, bgmock.server.cli; from bgmock.server.app import create_app; "
                 "create_app()")


def import_breakdown(code: str = SERVE_IMPORTS, top: int = 10) -> dict[str, Any]:
    """Self import time summed by top-level package, from ``-X importtime`` (one run)."""
    out = subprocess.run([procs.PYTHON, "-X", "importtime", "-c", code],
                         cwd=procs.ROOT, capture_output=True, text=True, check=True).stderr
    by_package: Counter[str] = Counter()
    for line in out.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue
        by_package[fields[2].strip().split(".")[0]] += int(fields[0])
    total = sum(by_package.values())
    return {"code": code, "total_ms": round(total / 1000, 1),
            "top_ms": {name: round(us / 1000, 1) for name, us in by_package.most_common(top)}}
