"""Closed-loop HTTP/1.1 keep-alive load: ``wrk`` when it is on PATH, else a lean asyncio
raw-socket generator (same shape: N connections, each sends the next request when the previous
answer is read). Both report requests/s and latency percentiles over the measured window."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Any

from bench.procs import HOST, request_bytes

MAX_REQUESTS = 5_000_000  # per run, on top of the time bound


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers plus socket errors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def generator_name(choice: str = "auto") -> str:
    if choice in ("auto", "wrk") and shutil.which("wrk"):
        return "wrk"
    if choice == "wrk":
        raise RuntimeError("wrk is not on PATH (apt-get install -y wrk)")
    return "python"


def describe(name: str) -> str:
    if name == "python":
        found = "wrk on PATH but not chosen" if shutil.which("wrk") else "wrk not on PATH"
        return f"bench.load asyncio raw-socket generator ({found})"
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def run(name: str, port: int, path: str, headers: dict[str, str], connections: int,
        seconds: float) -> Load:
    if name == "wrk":
        return _wrk(port, path, headers, connections, seconds)
    try:  # the generator must not be the bottleneck: uvloop when it is installed
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    return run_loop(_python(port, path, headers, connections, seconds))


# --- wrk ------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def _wrk(port: int, path: str, headers: dict[str, str], connections: int,
         seconds: float) -> Load:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
            "--timeout", "5s"]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    argv.append(f"http://{HOST}:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, check=True,
                         timeout=seconds + 30).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Load(round(rps, 1), round(_ms(percentiles["50"]), 3), round(_ms(percentiles["99"]), 3),
                requests, errors)


# --- asyncio fallback -----------------------------------------------------------------------

async def _connection(port: int, request: bytes, stop_at: float, latencies: list[float],
                      errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < stop_at and len(latencies) < MAX_REQUESTS:
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            latencies.append(time.perf_counter() - sent)
            if head[9:10] != b"2":
                errors.append(1)
    except (OSError, asyncio.IncompleteReadError):
        errors.append(1)
    finally:
        writer.close()


async def _python(port: int, path: str, headers: dict[str, str], connections: int,
                  seconds: float) -> Load:
    request = request_bytes(path, headers)
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, request, started + seconds, latencies, errors)
                           for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 3)

    return Load(round(len(latencies) / elapsed, 1), pct(0.50), pct(0.99), len(latencies),
                len(errors))
