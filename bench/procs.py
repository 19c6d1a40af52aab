"""Spawning servers (mock or bare), pinning them to a core, raw HTTP probes, machine facts."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"


def cores() -> tuple[int | None, int | None]:
    """(server core, load-generator core), or (None, None) when there is only one CPU to use."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    usable = sorted(os.sched_getaffinity(0))
    return (usable[0], usable[1]) if len(usable) >= 2 else (None, None)


def pin_self(core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})


def _pinner(core: int | None) -> Callable[[], None] | None:
    if core is None:
        return None
    return lambda: os.sched_setaffinity(0, {core})  # what `taskset -c <core>` does


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def mock_command(port: int, *extra: str) -> list[str]:
    """``bgmock serve --port P`` with its defaults (plus ``extra``): the installed console
    script next to this interpreter, else ``python -m bgmock.server``."""
    script = Path(PYTHON).with_name("bgmock")
    head = [str(script)] if script.exists() else [PYTHON, "-m", "bgmock.server"]
    return [*head, "serve", "--port", str(port), *extra]


def bare_command(port: int, body: Path | None = None, *extra: str) -> list[str]:
    return [PYTHON, "-m", "bench.baseline", "--port", str(port),
            *(["--body", str(body)] if body else []), *extra]


def spawn(argv: list[str], core: int | None, log: BinaryIO | int = subprocess.DEVNULL,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, preexec_fn=_pinner(core), env=env)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def request_bytes(path: str, headers: dict[str, str] | None = None, close: bool = False) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def get(port: int, path: str, headers: dict[str, str] | None = None,
        timeout: float = 5.0) -> tuple[int, bytes]:
    """One raw ``GET`` on a fresh connection: (status, body). Raises ``OSError`` if refused."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(request_bytes(path, headers, close=True))
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head[9:12]), body


def send(port: int, raw: bytes, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    """One raw request (it should say ``Connection: close`` or carry a Content-Length the server
    reads) on a fresh connection: (status, lower-case headers, body)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(raw)
        reader = s.makefile("rb")
        status = int(reader.readline()[9:12])
        headers: dict[str, str] = {}
        while (line := reader.readline().decode("latin-1").strip()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = reader.read(int(headers.get("content-length", "0")))
    return status, headers, body


def rss_mb(pid: int) -> float:
    """Resident set size of a process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


def descendants(pid: int) -> list[int]:
    """Every process started by ``pid``, at any depth (e.g. an imaging process pool)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found += [int(child), *descendants(int(child))]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its descendants still alive."""
    total = 0.0
    for each in (pid, *descendants(pid)):
        with contextlib.suppress(OSError):
            total += cpu_seconds(each)
    return total


def tree_rss_mb(pid: int) -> float:
    """RSS of a process plus its descendants (shared pages counted in each)."""
    total = 0.0
    for each in (pid, *descendants(pid)):
        with contextlib.suppress(OSError, RuntimeError):
            total += rss_mb(each)
    return round(total, 1)


def wait_200(port: int, path: str, proc: subprocess.Popen[bytes], timeout: float = 30.0,
             max_attempts: int = 2_000_000) -> int:
    """Tight loop of raw connection attempts until ``path`` answers 200; returns the attempts.

    No sleep between attempts: a refused connect on loopback costs a few microseconds, and the
    caller runs on another core than the server. Bounded by ``timeout`` and ``max_attempts``."""
    deadline = time.perf_counter() + timeout
    request = request_bytes(path, close=True)
    for attempt in range(1, max_attempts + 1):
        try:
            with socket.create_connection((HOST, port), timeout=5.0) as s:
                s.sendall(request)
                if s.recv(12)[9:12] == b"200":
                    return attempt
        except OSError:
            pass
        if time.perf_counter() > deadline or proc.poll() is not None:
            break
    raise RuntimeError(f"no 200 from :{port}{path} (exit code {proc.poll()})")


@contextlib.contextmanager
def server(argv: list[str], port: int, core: int | None) -> Iterator[subprocess.Popen[bytes]]:
    """A started server that answers ``/__admin/health``; its output goes to a temporary file
    whose tail is shown if it fails to start."""
    with tempfile.TemporaryFile() as log:
        proc = spawn(argv, core, log)
        try:
            try:
                wait_200(port, "/__admin/health", proc)
            except RuntimeError:
                log.seek(0)
                sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
                raise
            yield proc
        finally:
            stop(proc)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """Facts that matter for the figures. uvicorn's ``auto`` picks uvloop and httptools when
    they import; both the mock and the bare app run in this same environment."""
    has = {m: importlib.util.find_spec(m) is not None for m in ("uvloop", "httptools")}
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "uvicorn": _version("uvicorn"),
        "starlette": _version("starlette"),
        "fastapi": _version("fastapi"),
        "loop": f"uvloop {_version('uvloop')}" if has["uvloop"] else "asyncio",
        "http": f"httptools {_version('httptools')}" if has["httptools"]
                else f"h11 {_version('h11')}",
        "kernel": platform.release(),
    }


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
