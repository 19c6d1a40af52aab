"""PICPIK (issue 10, part 8): RemoveBackground submits per second, and cut-outs per second at
512x512 and 2048x2048. ``python -m bench.picpik [--quick]``; figures to
``bench/results/picpik-<UTC time>.json``.

- **submits**: mock / bare throughput of a signed ``RemoveBackground`` with an 8x8 PNG (the
  image work then costs its fixed part only), through :func:`bench.throughput.run` as the
  table's hot paths are: a fresh ``bgmock serve`` with its defaults plus a ``--config`` of
  :data:`ACCOUNTS` keys (10^9 points each; requests rotate over them, so the per-key limit of
  unfinished tasks never refuses: at 4 s per task on the default clock that allows
  ``ACCOUNTS x 50 / 4`` submits/s), against the bare app serving the captured answer.
- **cut-outs**: for each side, in process first (one core: CPU per call of the server's own
  PICPIK cut-out with the default knobs, ErodeSize 15 and thresholds 240/15, beside the core's
  plain cut-out as the baseline), then served: a burst of tasks submitted at once on a fresh
  server with its defaults, polled with ``ListTasksDetails`` until every one is ``Finished``.
  Served cut-outs/s = tasks / (last Finished - first submit); each task takes at least the
  default clock's 4 s, so the burst is sized for several seconds of image work (the quick
  plan's small bursts mostly measure those 4 s). The server's CPU (all its processes, polling
  included) per cut-out is given beside it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import load, procs, throughput
from bench.load import HttpRequest
from bench.providers import HotPath

PATH = "/picpik/"
ACCOUNTS = 64
POINTS = 10**9
SUBMIT_SIDE = 8
SIDES = (512, 2048)
PER_KEY = 50      # a key's unfinished tasks at most (D185): a burst fills keys in turn
POLL_S = 0.1      # between rounds of ListTasksDetails (one per key) while a burst runs
RESULTS = Path(__file__).resolve().parent / "results"


def key(i: int) -> tuple[str, str]:
    return f"bench-picpik-{i:03d}", f"bench-private-{i:03d}"


CONFIG = {"accounts": {"picpik": [
    {"public_key": key(i)[0], "private_key": key(i)[1], "points": POINTS}
    for i in range(ACCOUNTS)]}}


def sign(params: dict[str, Any], private_key: str) -> str:
    """PICPIK's signature (K3) for flat bodies of strings, ints, bools and lists of them."""
    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "".join(text(v) for v in value)
        return str(value)

    signed = "".join(k + text(params[k]) for k in sorted(params) if k != "Signature")
    return hashlib.sha1((signed + private_key).encode()).hexdigest()


def body(action: str, account: int, **params: Any) -> bytes:
    public, private = key(account)
    fields = {"Action": action, "PublicKey": public, **params,
              "request_uuid": str(uuid.UUID(int=account))}
    fields["Signature"] = sign(fields, private)
    return json.dumps(fields).encode()


def post(payload: bytes) -> HttpRequest:
    return HttpRequest("POST", PATH, (("Content-Type", "application/json"),), payload)


def photo(side: int) -> str:
    """A data URI of the bench's product photo, ``side`` x ``side``."""
    from bgmock.server.core import imaging

    png = imaging.encode(imaging.synthetic_product("bench", side, side), "png")
    return "data:image/png;base64," + base64.b64encode(png).decode()


def submits(_port: int) -> tuple[HttpRequest, ...]:
    image = photo(SUBMIT_SIDE)
    return tuple(post(body("RemoveBackground", i, RawImage=image)) for i in range(ACCOUNTS))


def ret_code_0(status: int, answer: Any) -> str | None:
    code = answer.get("RetCode") if isinstance(answer, dict) else None
    if status != 200 or code != 0 or not answer.get("TaskUID"):
        return f"HTTP {status}, RetCode {code!r} (expected HTTP 200, RetCode 0 and a TaskUID)"
    return None


SUBMIT = HotPath("PICPIK RemoveBackground submit (POST, signed, creates a task)", submits,
                 ret_code_0, 0.5, config=CONFIG,
                 note=f"{SUBMIT_SIDE}x{SUBMIT_SIDE} PNG; {ACCOUNTS} config keys with {POINTS:,} "
                      "points each, rotated; default clock (each task 4 s)",
                 key="picpik_submit")


# --- cut-outs ---------------------------------------------------------------------------------


def _cpu_ms(fn: Any, repeat: int, budget_s: float) -> float:
    """Median thread CPU per call, in ms (at least 3 calls, at most ``repeat`` or the budget)."""
    fn()  # warm: imports, first allocations
    times, deadline = [], time.perf_counter() + budget_s
    for i in range(repeat):
        if i >= 3 and time.perf_counter() > deadline:
            break
        start = time.thread_time_ns()
        fn()
        times.append((time.thread_time_ns() - start) / 1e6)
    return round(statistics.median(times), 3)


def in_process(side: int, repeat: int = 30, budget_s: float = 3.0) -> dict[str, Any]:
    """CPU per call on one core: PICPIK's cut-out (default knobs) and the core's plain one."""
    from bgmock.server.core import imaging
    from bgmock.server.providers.picpik import images

    png = base64.b64decode(photo(side).split(",", 1)[1])
    limits = imaging.Limits(64 * 1024 * 1024, 36_000_000)

    def plain() -> None:
        imaging.encode(imaging.cut_out(imaging.pixels(png, limits)).cropped, "png")

    picpik_ms = _cpu_ms(lambda: images.cut(png, limits, images.Knobs()), repeat, budget_s)
    plain_ms = _cpu_ms(plain, repeat, budget_s)
    return {"picpik_cpu_ms": picpik_ms, "plain_cutout_cpu_ms": plain_ms,
            "picpik_per_core_per_s": round(1000 / picpik_ms, 1),
            "picpik_to_plain_cpu": round(picpik_ms / plain_ms, 3)}


@contextmanager
def _config_file() -> Iterator[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(CONFIG, f)
        f.flush()
        yield f.name


def _answer(http: httpx.Client, payload: bytes) -> dict[str, Any]:
    answer = http.post(PATH, content=payload, headers={"Content-Type": "application/json"})
    found = answer.json()
    if answer.status_code != 200 or found.get("RetCode") != 0:
        raise RuntimeError(f"PICPIK answered HTTP {answer.status_code}: {answer.text[:300]}")
    return found


def served(side: int, tasks: int, connections: int = 8, timeout_s: float = 300.0,
           serve_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """A burst of ``tasks`` submits on a fresh default server (plus ``serve_args``), polled
    until all finished."""
    image = photo(side)
    if tasks > ACCOUNTS * PER_KEY:
        raise ValueError(f"at most {ACCOUNTS * PER_KEY} tasks")
    payloads = [body("RemoveBackground", i // PER_KEY, RawImage=image) for i in range(tasks)]
    port = procs.free_port()
    with _config_file() as config, \
            procs.server(procs.mock_command(port, "--config", config, *serve_args), port,
                         None) as proc, \
            httpx.Client(base_url=f"http://{procs.HOST}:{port}", timeout=60) as http:
        cpu_before = procs.tree_cpu_seconds(proc.pid)
        start = time.perf_counter()
        with ThreadPoolExecutor(connections) as pool:
            answers = list(pool.map(lambda p: _answer(http, p), payloads))
        submitted = time.perf_counter() - start
        open_tasks: dict[int, list[str]] = {}
        for i, answer in enumerate(answers):
            open_tasks.setdefault(i // PER_KEY, []).append(answer["TaskUID"])
        while open_tasks:
            if time.perf_counter() - start > timeout_s:
                raise RuntimeError(f"{sum(map(len, open_tasks.values()))} tasks unfinished")
            for account, uids in list(open_tasks.items()):
                details = _answer(http, body("ListTasksDetails", account, TaskUIDList=uids))
                states = {d["TaskUID"]: d["Status"] for d in details["TaskDetailList"]}
                failed = [u for u, s in states.items() if s == "Error"]
                if failed:
                    raise RuntimeError(f"tasks failed: {failed[:3]}")
                left = [u for u in uids if states[u] != "Finished"]
                if left:
                    open_tasks[account] = left
                else:
                    del open_tasks[account]
            time.sleep(POLL_S)
        wall = time.perf_counter() - start
        cpu = procs.tree_cpu_seconds(proc.pid) - cpu_before
    return {"side": side, "tasks": tasks, "connections": connections,
            "submit_s": round(submitted, 3), "all_finished_s": round(wall, 3),
            "cutouts_per_s": round(tasks / wall, 2),
            "server_cpu_ms_per_cutout": round(cpu / tasks * 1000, 1),
            "cutouts_per_server_cpu_s": round(tasks / max(cpu, 1e-9), 2)}


# --- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    rounds: int
    warmup: float
    seconds: float
    connections: int
    bursts: dict[int, int]  # side -> tasks in the burst


FULL = Plan(rounds=2, warmup=1, seconds=5, connections=32, bursts={512: 500, 2048: 40})
QUICK = Plan(rounds=1, warmup=1, seconds=2, connections=16, bursts={512: 60, 2048: 6})


def run(plan: Plan, generator: str, progress: Any = print) -> dict[str, Any]:
    server_core, _ = procs.cores()
    window = throughput.Window(plan.connections, plan.warmup, plan.seconds)
    submit = throughput.run(SUBMIT, rounds=plan.rounds, window=window, generator=generator,
                            server_core=server_core, history=False, progress=progress)
    progress(f"submits: mock/bare {submit['ratio_mock_to_bare']}")
    cutouts = {}
    for side in SIDES:
        figures = {"in_process": in_process(side),
                   "served": served(side, plan.bursts[side])}
        progress(f"cut-outs {side}x{side}: {figures}")
        cutouts[f"{side}x{side}"] = figures
    return {"machine": procs.machine() | {"generator": load.describe(generator)},
            "submits": submit, "cutouts": cutouts}


def summary(result: dict[str, Any]) -> str:
    submit = result["submits"]["median"]
    lines = [f"PICPIK submits: mock {submit['mock']['rps']:.0f} req/s, bare "
             f"{submit['bare']['rps']:.0f} req/s, mock/bare "
             f"{result['submits']['ratio_mock_to_bare']:.2f}"]
    for name, figures in result["cutouts"].items():
        inner, outer = figures["in_process"], figures["served"]
        lines.append(
            f"PICPIK cut-out {name}: in process {inner['picpik_cpu_ms']:.1f} ms CPU "
            f"({inner['picpik_per_core_per_s']:.1f}/s per core; plain cut-out "
            f"{inner['plain_cutout_cpu_ms']:.1f} ms, x{inner['picpik_to_plain_cpu']:.2f}); "
            f"served {outer['cutouts_per_s']:.1f}/s ({outer['tasks']} tasks, all finished in "
            f"{outer['all_finished_s']:.1f} s, {outer['server_cpu_ms_per_cutout']:.0f} ms "
            "server CPU each)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.picpik",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs (~30 s)")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args(argv)
    result = run(QUICK if args.quick else FULL, load.generator_name(args.generator))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"picpik-{stamp}.json").write_text(json.dumps(result, indent=2))
    print(summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
