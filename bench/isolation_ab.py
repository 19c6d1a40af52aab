"""``python -m bench.isolation_ab``: does image work starve requests that do none? (D150)

A fresh ``bgmock serve --clock real --log-level warning`` (with bench.cutout's Aidge account)
per phase; three phases, each ``--seconds`` long:

- **cut**: ``--clients`` keep-alive connections POST a ``--side``² Aidge cut-out
  (TRANSPARENT, original frame) in a closed loop: cut-outs/s, and CPU ms per cut-out of the
  server *with its imaging workers* (``/proc`` of the server and every process under it);
- **both**: the same, while ``wrk -t1 -c32`` GETs the Topview query of a finished task:
  the query's req/s and p99;
- **query**: wrk alone, for the same figures without image work.

``--bgmock`` picks the ``bgmock`` executable (e.g. another checkout's ``.venv/bin/bgmock``) for
A/B runs in one session. Short by design: the machine may be shared.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import cutout, procs
from bench.soak import DEMO, QUERY

DOCS_TASK = "56eac11a862143989e9cc63f8b213a2d"  # finished, with two signed URLs
TICK = os.sysconf("SC_CLK_TCK")


def wrk(port: int, seconds: float) -> dict[str, Any]:
    headers = [arg for k, v in DEMO.items() for arg in ("-H", f"{k}: {v}")]
    url = f"http://{procs.HOST}:{port}{QUERY}?taskId={DOCS_TASK}"
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{max(1, round(seconds))}s", "--latency",
                          *headers, url], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if rps is None or p99 is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk: unexpected output\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {"query_rps": float(rps.group(1)), "query_p99_ms": round(float(p99.group(1)) * scale, 2)}


def phase(bgmock: str, name: str, seconds: float, clients: int, side: int,
          core: int | None = None) -> dict[str, Any]:
    port = procs.free_port()
    with cutout._config_file() as config, procs.server(
            [bgmock, "serve", "--port", str(port), "--clock", "real", "--log-level", "warning",
             "--config", str(config)], port, core) as proc:
        case = cutout.Case(side)
        body = json.dumps(case.params(base64.b64encode(cutout.input_png(side)).decode()))
        request = cutout.post_bytes(cutout.signed_path(), body.encode())
        cutout.first_answer(port, request, case)  # checked; starts the imaging workers
        figures: dict[str, Any] = {"phase": name}
        query = threading.Thread(target=lambda: figures.update(wrk(port, seconds - 1)))
        if name != "cut":
            query.start()
        if name != "query":
            before = procs.tree_cpu_seconds(proc.pid)
            load = cutout.load(port, proc.pid, request, clients, 1.0, seconds - 1.0)
            cpu = procs.tree_cpu_seconds(proc.pid) - before
            if load["failures"]:
                raise RuntimeError(f"cut-outs failed: {load['failure_samples']}")
            figures |= {"cutouts_per_s": load["rps"], "cutout_p50_ms": load["p50_ms"],
                        "cpu_ms_per_cutout": round(cpu * 1000 / max(1, load["requests_all"]), 1)}
        if name != "cut":
            query.join()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.isolation_ab",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--bgmock", default=str(Path(sys.executable).with_name("bgmock")))
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--server-core", type=int, default=None,
                        help="pin the server (and so its workers) to this core, as make bench")
    args = parser.parse_args(argv)
    started = time.time()
    results = [phase(args.bgmock, name, args.seconds, args.clients, args.side, args.server_core)
               for name in ("cut", "both", "query")]
    json.dump({"bgmock": args.bgmock, "side": args.side, "clients": args.clients,
               "server_core": args.server_core,
               "load_average": os.getloadavg(), "started": started, "phases": results},
              sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
