"""``python -m bench``: cold start, query throughput (mock vs bare), Aidge cut-out figures.

``python -m bench [--quick] [--only query|cutout]``. ``query``: cold start and the Topview query
endpoint against a bare Starlette route; ``cutout``: the Aidge cut-out's requests/s at 512x512
and 2048x2048 and the share of server time spent in imaging (``bench/cutout.py``).

Prints a summary and saves the raw figures to ``bench/results/bench-<UTC time>.json`` (and
``latest.json``). The server runs on the first usable core and this process plus the load
generator on the second (``sched_setaffinity``, as ``taskset -c`` does) when there are two.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import coldstart, cutout, load, procs, throughput

RESULTS = Path(__file__).resolve().parent / "results"
COLD_START_AIM_S = 0.6
RATIO_AIM = 0.5
PARTS = ("query", "cutout")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 3 cold starts, 1 round of 1 s warm-up + 3 s, no info; "
                        "cut-out at 4 connections only")
    p.add_argument("--runs", type=int, help="cold starts per app (default 10)")
    p.add_argument("--rounds", type=int, help="alternating bare/mock rounds (default 2)")
    p.add_argument("--seconds", type=float, help="measured seconds per load run (default 10)")
    p.add_argument("--warmup", type=float, help="warm-up seconds per load run (default 2)")
    p.add_argument("--connections", type=int, default=32,
                   help="query load: keep-alive connections (default 32)")
    p.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto",
                   help="auto: wrk if on PATH, else the asyncio generator")
    p.add_argument("--no-info", action="store_true",
                   help="skip the mock at the default info log level (access log on)")
    p.add_argument("--only", choices=PARTS,
                   help="run one part: query (cold start + query throughput) or cutout "
                        "(Aidge cut-out); default both")
    p.add_argument("--cutout-connections", type=int, nargs="+", metavar="N",
                   help="cut-out load: connections per run (default 1 4 8; --quick: 4)")
    return p


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quick = args.quick
    runs = args.runs or (3 if quick else 10)
    rounds = args.rounds or (1 if quick else 2)
    seconds = args.seconds or (3.0 if quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    with_info = not (args.no_info or quick)
    generator = load.generator_name(args.generator)

    server_core, generator_core = procs.cores()
    machine = procs.machine() | {
        "server_core": server_core, "generator_core": generator_core,
        "generator": load.describe(generator),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE")}
    procs.pin_self(generator_core)
    print("machine:", ", ".join(f"{k}={v}" for k, v in machine.items()))
    started, load_before = time.perf_counter(), _loadavg()

    parts = (args.only,) if args.only else PARTS
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "parts": list(parts), "machine": machine}
    if "query" in parts:
        result |= _query(args, runs=runs, rounds=rounds, seconds=seconds, warmup=warmup,
                         with_info=with_info, generator=generator, server_core=server_core,
                         generator_label=machine["generator"])
    if "cutout" in parts:
        connections = tuple(args.cutout_connections or ((4,) if quick else (1, 4, 8)))
        print(f"aidge cut-out: POST {cutout.PATH}, inputs "
              f"{', '.join(sorted({f'{c.side}x{c.side}' for c in cutout.CASES}))} PNG")
        result["cutout"] = cutout.run(connections=connections, warmup=warmup, seconds=seconds,
                                      server_core=server_core,
                                      imaging_budget_s=1.0 if quick else cutout.IMAGING_BUDGET_S)
    result["loadavg_1m"] = {"before": load_before, "after": _loadavg()}
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    _summary(result)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"bench-{stamp}.json", "latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(f"raw figures: {RESULTS / f'bench-{stamp}.json'}")
    if "cutout" in result and not result["cutout"]["valid"]:
        print("INVALID: the cut-out load had failed requests (see failure_samples)")
        return 1
    return 0


def _query(args: argparse.Namespace, *, runs: int, rounds: int, seconds: float, warmup: float,
           with_info: bool, generator: str, server_core: int | None,
           generator_label: str) -> dict[str, Any]:
    print(f"cold start: {runs} runs each, spawn -> first 200 on GET /__admin/health")
    cold = coldstart.run(runs, server_core)
    for name, figures in cold.items():
        print(f"  {name:4} median {figures['median_s']:.3f} s  min {figures['min_s']:.3f} s  "
              f"server CPU median {figures['cpu_median_s']:.2f} s  ({figures['command']})")
    imports = coldstart.import_breakdown()
    print(f"  imports before serving (-X importtime, self time by package, total "
          f"{imports['total_ms']} ms): "
          + ", ".join(f"{k} {v}" for k, v in imports["top_ms"].items()))

    print(f"throughput: {args.connections} connections, {rounds} round(s) of {warmup:g} s "
          f"warm-up + {seconds:g} s per variant, generator {generator_label}")
    tp = throughput.run(rounds=rounds, connections=args.connections, warmup=warmup,
                        seconds=seconds, generator=generator, server_core=server_core,
                        with_info=with_info)
    return {"cold_start": cold, "imports": imports, "throughput": tp}


def _summary(r: dict[str, Any]) -> None:
    print(f"\nsummary ({r['elapsed_s']} s, load average {r['loadavg_1m']})")
    if "throughput" in r:
        _query_summary(r)
    if "cutout" in r:
        _cutout_summary(r["cutout"])


def _query_summary(r: dict[str, Any]) -> None:
    cold, tp = r["cold_start"], r["throughput"]
    med = tp["median"]
    mock_cold = cold["mock"]["median_s"]
    print(f"  cold start  mock {mock_cold:.3f} s (min {cold['mock']['min_s']:.3f})  "
          f"bare {cold['bare']['median_s']:.3f} s  aim < {COLD_START_AIM_S} s: "
          f"{'met' if mock_cold < COLD_START_AIM_S else 'MISSED'}")
    for name, figures in med.items():
        print(f"  {name:9}   {throughput.line(figures)}")
    print(f"  (GET {tp['path']}, answer {tp['answer_bytes']} bytes)")
    ratio = tp["ratio_mock_to_bare"]
    print(f"  mock/bare throughput {ratio:.2f}  aim >= {RATIO_AIM}: "
          f"{'met' if ratio >= RATIO_AIM else 'MISSED'}")
    if "ratio_info_to_warning" in tp:
        print(f"  info (access log on) / warning throughput {tp['ratio_info_to_warning']:.2f}")


def _cutout_summary(c: dict[str, Any]) -> None:
    print(f"  aidge cut-out (POST {c['path']}): imaging = server worker-thread (render) CPU / "
          "server CPU; render/CPU = in-process render CPU / server CPU per request")
    for case in c["cases"]:
        print(f"    {case['case']}: render {case['render']['cpu_mean_ms']:.1f} ms CPU; "
              + cutout.stage_line(case["stages_ms"]))
        for run in case["load"]:
            print(f"      {cutout.line(run)}")
    print(f"  cut-out failures: {c['failures']} ({'valid' if c['valid'] else 'INVALID'})")


if __name__ == "__main__":
    raise SystemExit(main())
