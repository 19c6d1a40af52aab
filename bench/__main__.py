"""``python -m bench``: issue 8's benchmark table, each figure with its target, met or MISSED.

Rows: mock / bare throughput of each hot path in ``bench.providers.HOT_PATHS`` (Topview query,
Topview submit, Aidge failing signature; later providers add theirs there), cold start, RSS
after mixed requests, the query's p99, the query's p99 beside Aidge cut-outs, cut-outs per
second. ``--quick`` runs the same table with fewer and shorter rounds (under 60 s).
``--study cutout`` adds the detailed Aidge cut-out study (``bench/cutout.py``, ~150 s).

Prints the table and saves the raw figures to ``bench/results/bench-<UTC time>.json`` (and
``latest.json``). Servers run on the first usable core and this process plus the load
generator on the second (``sched_setaffinity``, as ``taskset -c`` does) when there are two;
the cut-out rows leave the server unpinned.
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

from bench import coldstart, cutout, isolation, load, memory, plan, procs, report, throughput
from bench.providers import HOT_PATHS, HotPath
from bench.table import format_table

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("ratios", "cold", "memory", "isolation")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help=f"the same table, fewer/shorter rounds, under {plan.QUICK_BUDGET_S:g} s "
                        f"(row 5 with {plan.QUICK.mixed_requests:,} requests)")
    p.add_argument("--runs", type=int, help="cold starts per app (default 10; quick 3)")
    p.add_argument("--rounds", type=int, help="bare/mock rounds per ratio (default 2; quick 1)")
    p.add_argument("--seconds", type=int, help="measured seconds per load (default 10; quick 2)")
    p.add_argument("--warmup", type=int, help="warm-up seconds per load (default 2; quick 1)")
    p.add_argument("--mixed-requests", type=int,
                   help="row 5: mixed requests (default 100000; quick 20000)")
    p.add_argument("--connections", type=int, help="query/ratio load connections (default 32)")
    p.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto",
                   help="auto: wrk if on PATH, else the asyncio generator")
    p.add_argument("--only", choices=(*PARTS, "cutout"), nargs="+",
                   help="run only these parts of the table (cutout: only the cut-out study)")
    p.add_argument("--path", choices=[h.slug for h in HOT_PATHS], nargs="+", dest="paths",
                   help="ratio rows: only these hot paths (default all)")
    p.add_argument("--study", choices=["cutout"], nargs="*", default=[],
                   help="also run a detailed study: cutout = Aidge cut-out at 512/2048 with "
                        "in-process stages (bench/cutout.py)")
    p.add_argument("--cutout-connections", type=int, nargs="+", metavar="N", default=[1, 4, 8],
                   help="the cut-out study's connections per run (default 1 4 8)")
    return p


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    chosen = plan.with_overrides(plan.QUICK if args.quick else plan.FULL, cold_runs=args.runs,
                                 rounds=args.rounds, seconds=args.seconds, warmup=args.warmup,
                                 mixed_requests=args.mixed_requests,
                                 connections=args.connections)
    parts = tuple(p for p in args.only or PARTS if p in PARTS)
    study = set(args.study) | ({"cutout"} & set(args.only or ()))
    generator = load.generator_name(args.generator)
    server_core, generator_core = procs.cores()
    machine = procs.machine() | {
        "server_core": server_core, "generator_core": generator_core,
        "generator": load.describe(generator),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE")}
    procs.pin_self(generator_core)
    print("machine:", ", ".join(f"{k}={v}" for k, v in machine.items()))
    print(f"plan: {chosen} (estimate at most "
          f"{plan.estimate_s(chosen, len(HOT_PATHS)):.0f} s for the whole table)")
    started, load_before = time.perf_counter(), _loadavg()
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "plan": chosen.__dict__, "parts": list(parts), "machine": machine}
    paths = tuple(h for h in HOT_PATHS if h.slug in (args.paths or [h.slug]))
    result |= _table_parts(parts, chosen, generator, server_core, paths)
    if "cutout" in study:
        print(f"study: Aidge cut-out, POST {cutout.PATH}")
        result["cutout"] = cutout.run(connections=tuple(args.cutout_connections),
                                      warmup=chosen.warmup,
                                      seconds=chosen.seconds, server_core=server_core)
    result["loadavg_1m"] = {"before": load_before, "after": _loadavg()}
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    table = report.rows(result)
    result["table"] = [row.as_dict() for row in table]
    if table:
        print(f"\nissue 8 table ({result['elapsed_s']} s, load average {result['loadavg_1m']}, "
              f"command `{result['command'].strip()}`)\n")
        print(format_table(table))
        print(f"seconds per part: {result.get('part_seconds')}")
    _save(result)
    invalid = [name for name in ("isolation", "cutout") if name in result
               and not result[name]["valid"]]
    if invalid or ("memory" in result and not result["memory"]["complete"]):
        print(f"INVALID: failed requests in {invalid or 'memory'} (see the JSON)")
        return 1
    return 0


def _table_parts(parts: tuple[str, ...], chosen: plan.Plan, generator: str,
                 server_core: int | None, paths: tuple[HotPath, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"part_seconds": {}}
    mark = time.perf_counter()

    def took(part: str) -> None:
        nonlocal mark
        out["part_seconds"][part] = round(time.perf_counter() - mark, 1)
        mark = time.perf_counter()

    if "cold" in parts:
        print(f"cold start: {chosen.cold_runs} runs each, spawn -> first 200 on "
              "GET /__admin/health")
        out["cold_start"] = coldstart.run(chosen.cold_runs, server_core, chosen.cold_warm)
        if chosen.imports:
            imports = out["imports"] = coldstart.import_breakdown()
            print(f"  imports before serving (-X importtime, self time by package, total "
                  f"{imports['total_ms']} ms): "
                  + ", ".join(f"{k} {v}" for k, v in imports["top_ms"].items()))
        took("cold")
    if "ratios" in parts:
        window = throughput.Window(chosen.connections, chosen.warmup, chosen.seconds)
        print(f"mock / bare: {chosen.connections} connections, {chosen.rounds} round(s) of "
              f"{chosen.warmup:g} s warm-up + {chosen.seconds:g} s per variant")
        out["ratios"] = [throughput.run(path, rounds=chosen.rounds, window=window,
                                        generator=generator, server_core=server_core,
                                        history=chosen.history)
                         for path in paths]
        took("ratios")
    if "memory" in parts:
        print(f"mixed load: {chosen.mixed_requests:,} requests, RSS at half and at the end")
        out["memory"] = memory.run(chosen.mixed_requests, server_core)
        took("memory")
    if "isolation" in parts:
        print(f"isolation: {chosen.cutout_clients} clients of {isolation.SIDE}x{isolation.SIDE}"
              " Aidge cut-outs, then the query beside them")
        out["isolation"] = isolation.run(chosen, generator)
        took("isolation")
    return out


def _save(result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"bench-{stamp}.json", "latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(f"raw figures: {RESULTS / f'bench-{stamp}.json'}")


if __name__ == "__main__":
    raise SystemExit(main())
