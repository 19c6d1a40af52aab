"""``python -m bench.runware``: Runware's figures (issue 11 part 9), each against a fresh
``bgmock serve --port P`` with its defaults (real clock, the demo key ``runware-demo-key``).

- **rest**: background removals per second at 512² and 1024²: ``--clients`` keep-alive httpx
  clients in a closed loop POST ``[{"taskType":"removeBackground", ...}]`` with a fresh
  ``taskUUID`` and the image inline as a PNG data URI (so every removal decodes, segments and
  encodes: nothing is shared between requests). Every answer must be HTTP 200 with an
  ``imageURL``; a run with failures says so. ``server_cpu_ms_each``: CPU of the server and its
  imaging workers per call (warm-up included), steadier than the rates on a shared machine;
  ``client_cpu_ms_each``: this process's (the load generator's) CPU per call.
- **ws**: WebSocket round trips at ``--connections`` concurrent connections (each
  authenticated first), each in a closed loop: ``ping`` → ``pong``, and a small removal
  (64², inline data URI, ``outputType`` URL) → its result; p50 / p99 in ms.
- **sdk**: the official ``runware`` SDK (0.5.x, WebSocket) end to end per image:
  ``imageBackgroundRemoval(inputImage=<local 512² PNG>)``, i.e. the SDK's ``imageUpload`` then
  its removal, sequentially on one connection, after one untimed call; median and p90 in ms.

The load generators run in this process, beside the server, on the same (shared) cores, so
the figures include their competition. Every loop is bounded by time and by count. JSON on
stdout; ``--quick`` shortens every window (the smoke test's mode).

    .venv/bin/python -m bench.runware [--seconds 5] [--only rest ws sdk] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import procs

KEY = "runware-demo-key"              # R27: preconfigured on a fresh mock
PATH = "/runware/v1"
SIZES = (512, 1024)
SMALL = 64                            # the WebSocket removal's side
MAX_ROUND_TRIPS = 1_000_000           # per connection and phase, on top of the time bound
PARTS = ("rest", "ws", "sdk")


@dataclass(frozen=True)
class Window:
    seconds: float = 5.0
    warmup: float = 1.0
    clients: int = 8                  # REST removal clients
    connections: int = 32             # WebSocket connections
    sdk_images: int = 10


QUICK = Window(seconds=1.5, warmup=0.3, clients=2, connections=4, sdk_images=2)


def png(side: int, seed: str = "bench") -> bytes:
    from bgmock.server.core import imaging

    return imaging.encode(imaging.synthetic_product(seed, side, side), "png")


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def removal(image: str) -> list[dict[str, Any]]:
    return [{"taskType": "removeBackground", "taskUUID": str(uuid.uuid4()),
             "inputImage": image, "outputType": "URL", "outputFormat": "PNG"}]


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def latency(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"count": len(ms), "p50_ms": round(percentile(ms, 0.5), 2),
            "p99_ms": round(percentile(ms, 0.99), 2)}


@dataclass
class Measured:
    """A closed loop's window: the durations of the calls that started after the warm-up and
    ended in the window (latency), the calls that ended in it (throughput), the failures."""

    durations: list[float]
    completed: int
    failures: int
    seconds: float
    total: int = 0                    # calls that succeeded, the warm-up's too
    server_cpu_s: float = 0.0         # the server and its workers, over the whole loop
    client_cpu_s: float = 0.0         # this process (the load generator), likewise

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds

    def cpu_ms_each(self) -> dict[str, float]:
        """Server and client CPU per successful call, in ms."""
        calls = self.total or float("nan")
        return {"server_cpu_ms_each": round(1000 * self.server_cpu_s / calls, 2),
                "client_cpu_ms_each": round(1000 * self.client_cpu_s / calls, 2)}


async def closed_loop(workers: int, seconds: float, warmup: float,
                      once: Callable[[int], Awaitable[None]], server: int) -> Measured:
    """``workers`` loops calling ``once(worker)`` back to back until the window ends; the CPU
    of process ``server`` and its children is read before and after."""
    cpu0, mine0 = procs.tree_cpu_seconds(server), time.process_time()
    start = time.perf_counter()
    begin, end = start + warmup, start + warmup + seconds
    measured = Measured([], 0, 0, seconds)

    async def loop(worker: int) -> None:
        for _ in range(MAX_ROUND_TRIPS):
            t0 = time.perf_counter()
            if t0 >= end:
                return
            try:
                await once(worker)
            except Exception:  # counted, and the loop goes on: the figure says how many
                measured.failures += 1
                continue
            t1 = time.perf_counter()
            measured.total += 1
            if begin <= t1 <= end:
                measured.completed += 1
                if t0 >= begin:
                    measured.durations.append(t1 - t0)

    await asyncio.gather(*(loop(w) for w in range(workers)))
    measured.server_cpu_s = procs.tree_cpu_seconds(server) - cpu0
    measured.client_cpu_s = time.process_time() - mine0
    return measured


# --- REST removals ---------------------------------------------------------------------------


async def rest_removals(port: int, server: int, side: int, window: Window) -> dict[str, Any]:
    image = data_uri(png(side))
    headers = {"Authorization": f"Bearer {KEY}"}
    limits = httpx.Limits(max_connections=window.clients)
    async with httpx.AsyncClient(base_url=f"http://{procs.HOST}:{port}", timeout=120,
                                 limits=limits) as http:
        async def once(_worker: int) -> None:
            answer = await http.post(PATH, json=removal(image), headers=headers)
            body = answer.json()
            if answer.status_code != 200 or not body["data"][0].get("imageURL"):
                raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:200]}")

        run = await closed_loop(window.clients, window.seconds, window.warmup, once, server)
    return {"side": side, "clients": window.clients, "removals": run.completed,
            "calls": run.total, "per_second": round(run.per_second, 2), "failures": run.failures,
            **run.cpu_ms_each(), **latency(run.durations)}


# --- WebSocket round trips -------------------------------------------------------------------


async def ws_round_trips(port: int, server: int, window: Window) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    url = f"ws://{procs.HOST}:{port}{PATH}"
    sockets = [await connect(url, max_size=None) for _ in range(window.connections)]
    try:
        for ws in sockets:
            await ws.send(json.dumps([{"taskType": "authentication", "apiKey": KEY}]))
            reply = json.loads(await ws.recv())
            if "connectionSessionUUID" not in reply.get("data", [{}])[0]:
                raise RuntimeError(f"authentication refused: {reply}")
        ping = json.dumps([{"taskType": "ping", "ping": True}])
        small = data_uri(png(SMALL))

        async def pong(worker: int) -> None:
            ws = sockets[worker]
            await ws.send(ping)
            reply = json.loads(await ws.recv())
            if not reply["data"][0].get("pong"):
                raise RuntimeError(f"no pong: {reply}")

        async def removed(worker: int) -> None:
            ws = sockets[worker]
            task = removal(small)
            await ws.send(json.dumps(task))
            reply = json.loads(await ws.recv())
            item = reply.get("data", [{}])[0]
            if item.get("taskUUID") != task[0]["taskUUID"] or not item.get("imageURL"):
                raise RuntimeError(f"no result: {reply}")

        phases = {}
        for name, once in (("ping", pong), ("removal_64", removed)):
            run = await closed_loop(window.connections, window.seconds, window.warmup, once,
                                    server)
            phases[name] = {"connections": window.connections, "failures": run.failures,
                            "calls": run.total, "per_second": round(run.per_second, 1),
                            **run.cpu_ms_each(), **latency(run.durations)}
        return phases
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


# --- the official SDK --------------------------------------------------------------------------


async def sdk_end_to_end(port: int, server: int, window: Window) -> dict[str, Any]:
    from runware import IImageBackgroundRemoval, Runware

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "product.png"
        path.write_bytes(png(512, "sdk"))
        rw = Runware(api_key=KEY, url=f"ws://{procs.HOST}:{port}{PATH}")
        t0 = time.perf_counter()
        await rw.connect()
        connected = time.perf_counter() - t0
        durations: list[float] = []
        try:
            for n in range(window.sdk_images + 1):  # the first (workers starting) is not timed
                t0 = time.perf_counter()
                [image] = await rw.imageBackgroundRemoval(
                    removeImageBackgroundPayload=IImageBackgroundRemoval(
                        inputImage=str(path), outputType="URL", outputFormat="PNG"))
                if n:
                    durations.append(time.perf_counter() - t0)
                else:
                    cpu0 = procs.tree_cpu_seconds(server)
                if not image.imageURL:
                    raise RuntimeError(f"no imageURL: {image}")
            cpu = procs.tree_cpu_seconds(server) - cpu0
        finally:
            await rw.disconnect()
    ms = [d * 1000 for d in durations]
    return {"images": len(ms), "side": 512, "connect_ms": round(connected * 1000, 1),
            "median_ms": round(statistics.median(ms), 1),
            "p90_ms": round(percentile(ms, 0.9), 1), "min_ms": round(min(ms), 1),
            "server_cpu_ms_each": round(1000 * cpu / len(ms), 2)}


# --- the run -----------------------------------------------------------------------------------


def run(parts: tuple[str, ...], window: Window) -> dict[str, Any]:
    """Each part against its own fresh server with the defaults."""
    report: dict[str, Any] = {"machine": procs.machine(), "window": asdict(window)}
    for part in parts:
        port = procs.free_port()
        with procs.server(procs.mock_command(port), port, None) as server:
            if part == "rest":
                report["rest"] = [asyncio.run(rest_removals(port, server.pid, side, window))
                                  for side in SIZES]
            elif part == "ws":
                report["ws"] = asyncio.run(ws_round_trips(port, server.pid, window))
            else:
                report["sdk"] = asyncio.run(sdk_end_to_end(port, server.pid, window))
    return report


def failures(report: dict[str, Any]) -> int:
    rest = sum(row["failures"] for row in report.get("rest", []))
    return rest + sum(phase["failures"] for phase in report.get("ws", {}).values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runware",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--seconds", type=float, help="measured seconds per load (default 5)")
    parser.add_argument("--clients", type=int, help="REST removal clients (default 8)")
    parser.add_argument("--connections", type=int, help="WebSocket connections (default 32)")
    parser.add_argument("--sdk-images", type=int, help="SDK removals (default 10)")
    parser.add_argument("--quick", action="store_true", help="short windows, few clients")
    args = parser.parse_args(argv)
    window = QUICK if args.quick else Window()
    changes = {"seconds": args.seconds, "clients": args.clients,
               "connections": args.connections, "sdk_images": args.sdk_images}
    for name, value in changes.items():
        if value is not None:
            if not 0 < value <= (600 if name == "seconds" else 1000):
                parser.error(f"--{name.replace('_', '-')} out of range")
            window = Window(**{**asdict(window), name: value})
    report = run(tuple(args.only), window)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 1 if failures(report) else 0


if __name__ == "__main__":
    sys.exit(main())
