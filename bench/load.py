"""Closed-loop HTTP/1.1 keep-alive load: ``wrk`` when it is on PATH, else a lean asyncio
raw-socket generator (same shape: N connections, each sends the next request when the previous
answer is read). Both take a list of requests and rotate through it (wrk: a generated Lua
script), and report requests/s and latency percentiles over the measured window."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.procs import HOST

MAX_REQUESTS = 5_000_000  # per run, on top of the time bound


@dataclass(frozen=True)
class HttpRequest:
    """One request the generators send as is (Host and Content-Length are added)."""

    method: str
    path: str                               # with its query string
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def raw(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {HOST}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        if self.body or self.method not in ("GET", "HEAD"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def get(path: str, headers: dict[str, str] | None = None) -> HttpRequest:
    return HttpRequest("GET", path, tuple((headers or {}).items()))


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


def run(name: str, port: int, requests: Sequence[HttpRequest], connections: int,
        seconds: float, max_requests: int = MAX_REQUESTS) -> Load:
    """Rotate through ``requests`` on ``connections`` for ``seconds`` (wrk: whole seconds).
    ``max_requests`` bounds the Python generator only (wrk runs for its time)."""
    if not requests:
        raise ValueError("no requests to send")
    if name == "wrk":
        return _wrk(port, requests, connections, seconds)
    return run_python(port, requests, connections, seconds, max_requests)


def run_python(port: int, requests: Sequence[HttpRequest], connections: int, seconds: float,
               max_requests: int = MAX_REQUESTS) -> Load:
    """The asyncio generator; it also stops after exactly ``max_requests`` answers."""
    try:  # the generator must not be the bottleneck: uvloop when it is installed
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    return run_loop(_python(port, [r.raw() for r in requests], connections, seconds,
                            max_requests))


# --- wrk ------------------------------------------------------------------------------------

def _ms(text: str) -> float:
    if text == "nan":
        return float("nan")
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0,
                           "h": 3_600_000.0}[unit]


def lua_string(text: str | bytes) -> str:
    """A Lua string literal for any bytes: printable ASCII as is, the rest as ``\\ddd``."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    out = []
    for byte in data:
        char = chr(byte)
        if char in '\\"':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _lua_table(headers: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers) + "}"


def lua_script(requests: Sequence[HttpRequest]) -> str:
    """wrk script: one request is static (wrk builds it once, its fast path); several are
    formatted once in ``init`` and rotated in order, one per call."""
    if len(requests) == 1:
        only = requests[0]
        lines = [f"wrk.method = {lua_string(only.method)}", f"wrk.path = {lua_string(only.path)}"]
        lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in only.headers]
        if only.body:
            lines.append(f"wrk.body = {lua_string(only.body)}")
        return "\n".join(lines) + "\n"
    lines = ["local reqs, i = {}, 0", "init = function(args)"]
    for r in requests:
        body = lua_string(r.body) if r.body or r.method not in ("GET", "HEAD") else "nil"
        lines.append(f"  reqs[#reqs + 1] = wrk.format({lua_string(r.method)}, "
                     f"{lua_string(r.path)}, {_lua_table(r.headers)}, {body})")
    lines += ["end", "request = function()", "  i = i % #reqs + 1", "  return reqs[i]", "end"]
    return "\n".join(lines) + "\n"


def _wrk(port: int, requests: Sequence[HttpRequest], connections: int, seconds: float) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua_script(requests))
        script.flush()
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
                "--timeout", "5s", "-s", script.name, f"http://{HOST}:{port}"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True,
                             timeout=seconds + 30).stdout
    percentiles = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    if set(percentiles) != {"50", "99"}:  # e.g. no answer in the window: no distribution
        sys.stderr.write(f"wrk printed no 50%/99% latency; its output:\n{out}\n")
        percentiles = {"50": "nan", "99": "nan"}
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Load(round(rps, 1), round(_ms(percentiles["50"]), 3), round(_ms(percentiles["99"]), 3),
                requests_done, errors)


# --- asyncio fallback -----------------------------------------------------------------------

_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


async def _connection(port: int, requests: list[bytes], first: int, stop_at: float,
                      issued: list[int], latencies: list[float], errors: list[int]) -> None:
    """``issued``: [requests sent by all connections, the most to send]."""
    reader, writer = await asyncio.open_connection(HOST, port)
    turn = first
    try:
        while time.perf_counter() < stop_at and issued[0] < issued[1]:
            issued[0] += 1
            sent = time.perf_counter()
            writer.write(requests[turn % len(requests)])
            turn += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            latencies.append(time.perf_counter() - sent)
            if head[9:10] != b"2":
                errors.append(1)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        errors.append(1)
    finally:
        writer.close()


async def _python(port: int, requests: list[bytes], connections: int, seconds: float,
                  max_requests: int) -> Load:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    issued = [0, max_requests]
    await asyncio.gather(*(_connection(port, requests, i, started + seconds, issued,
                                       latencies, errors) for i in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 3)

    return Load(round(len(latencies) / elapsed, 1), pct(0.50), pct(0.99), len(latencies),
                len(errors))
