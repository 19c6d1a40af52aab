"""``python -m bench.imaging_peak``: peak server RSS while N large remove-background jobs run.

Starts ``bgmock serve`` with its defaults, uploads one synthetic photo at the pixel limit
(6000x6000 = 36 MP by default) through Topview's presigned upload, then submits ``--jobs``
remove-background tasks at once (``X-Mock-Fault: duration=0``, so each is due at once) and polls
them to the end while sampling the server's RSS every 20 ms, and that of the server with its
imaging workers (D150; RSS summed, so pages they share count twice). The imaging pool (decision
D30) bounds how many decoded images exist at once, so the peak should not grow with ``--jobs``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench import procs
from bench.soak import DEMO, QUERY, SUBMIT, rss_mb


def photo(side: int) -> bytes:
    from bgmock.server.core import imaging

    out = io.BytesIO()
    imaging.synthetic_product("peak", side, side).save(out, "PNG", compress_level=1)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.imaging_peak",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--side", type=int, default=6000)
    args = parser.parse_args(argv)
    data = photo(args.side)
    port = procs.free_port()
    with procs.server(procs.mock_command(port), port, None) as proc, \
            httpx.Client(base_url=f"http://{procs.HOST}:{port}", timeout=300,
                         headers=DEMO) as http:
        credential = http.get("/topview/v1/upload/credential",
                              params={"format": "png"}).json()["result"]
        http.put(credential["uploadUrl"], content=data).raise_for_status()
        start = rss_mb(proc.pid)
        samples: list[float] = []
        family: list[float] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append(rss_mb(proc.pid))
                family.append(procs.tree_rss_mb(proc.pid))
                time.sleep(0.02)

        def job(_: int) -> str:
            task = http.post(SUBMIT, json={"productImageFileId": credential["fileId"]},
                             headers={"X-Mock-Fault": "duration=0"}).json()["result"]["taskId"]
            while True:
                status = http.get(QUERY, params={"taskId": task}).json()["result"]["status"]
                if status in ("success", "fail"):
                    return status
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            statuses = list(pool.map(job, range(args.jobs)))
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        report = {"jobs": args.jobs, "pixels": args.side ** 2, "uploadBytes": len(data),
                  "statuses": statuses, "seconds": round(elapsed, 1),
                  "rssBeforeMb": round(start, 1), "rssPeakMb": round(max(samples), 1),
                  "rssAfterMb": round(rss_mb(proc.pid), 1),
                  "withWorkersPeakMb": round(max(family), 1),
                  "withWorkersAfterMb": round(procs.tree_rss_mb(proc.pid), 1)}
    json.dump(report, sys.stdout)
    print()
    return 0 if all(s == "success" for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
