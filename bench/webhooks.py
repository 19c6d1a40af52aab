"""``python -m bench.webhooks``: callback deliveries per second to a local receiver.

A receiver (a bare ASGI app under uvicorn, answering 200 to everything) runs in its own process
on the other core; this process runs the webhook engine (``core/webhooks.py``) on a real clock
and schedules ``--deliveries`` callbacks of a Topview-sized body (about 1.2 KB) at once, then
waits until every one is journaled. Reported: deliveries/s (the engine's default bounds: 16
attempts in flight), and the median and p99 attempt duration. Short: a few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

from bench import procs


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def serve_receiver(port: int) -> None:
    import uvicorn

    uvicorn.run(receiver_app, host=procs.HOST, port=port, log_level="warning",
                lifespan="off", access_log=False, interface="asgi3")


def body(n: int) -> dict[str, Any]:
    url = ("http://127.0.0.1:8080/files/s3/aigc/analyzed_video/task/background_removed/"
           f"{n:032x}/cropped_image.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature="
           + "0" * 64)
    return {"uuid": f"{n:032x}", "bizType": "COMMON_TASK_REMOVE_BACKGROUND",
            "taskId": f"{n:032x}", "status": "success", "errorMsg": None,
            "result": {"taskId": f"{n:032x}", "status": "success",
                       "bgRemovedImageFileId": f"{n:032x}", "bgRemovedImagePath": url,
                       "bgRemovedImageWidth": 528, "bgRemovedImageHeight": 720,
                       "maskImageFileId": f"{n:032x}", "maskImagePath": url,
                       "maskImageWidth": 720, "maskImageHeight": 720, "costCredit": 0.5,
                       "errorMsg": None}}


async def run(port: int, count: int, concurrency: int) -> dict[str, Any]:
    from bgmock.server.core.clock import Clock
    from bgmock.server.core.timeline import Timeline
    from bgmock.server.core.webhooks import Webhooks, WebhookSettings

    settings = WebhookSettings(concurrency=concurrency, queue=count, journal_size=count)
    hooks = Webhooks(Clock("real"), Timeline(), settings)
    url = f"http://{procs.HOST}:{port}/hook"
    hooks.schedule("topview", "warm-up", url, body(0), {"Topview-Uid": "bench"})
    while hooks.pending:                       # the client made, a connection open
        await asyncio.sleep(0.01)
    hooks.journal.clear()
    started = time.perf_counter()
    for n in range(count):
        hooks.schedule("topview", f"{n:032x}", url, body(n), {"Topview-Uid": "bench"})
    deadline = started + 120
    while hooks.pending and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    records = list(hooks.journal.values())
    delivered = sum(r.outcome == "delivered" for r in records)
    durations = sorted(r.duration_ms or 0.0 for r in records)
    hooks.close()
    return {"deliveries": count, "delivered": delivered, "concurrency": concurrency,
            "seconds": round(elapsed, 3), "deliveries_per_s": round(delivered / elapsed, 1),
            "attempt_ms_median": round(statistics.median(durations), 2),
            "attempt_ms_p99": round(durations[int(len(durations) * 0.99) - 1], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.receiver:
        serve_receiver(args.receiver)
        return 0
    if not 1 <= args.deliveries <= 100_000 or not 1 <= args.concurrency <= 1000:
        parser.error("--deliveries 1..100000, --concurrency 1..1000")
    receiver_core, own_core = procs.cores()
    procs.pin_self(own_core)
    port = procs.free_port()
    with procs.server([procs.PYTHON, "-m", "bench.webhooks", "--receiver", str(port)], port,
                      receiver_core):
        result = asyncio.run(run(port, args.deliveries, args.concurrency))
    result["machine"] = {"python": sys.version.split()[0]}
    print(json.dumps(result, indent=2))
    return 0 if result["delivered"] == result["deliveries"] else 1


if __name__ == "__main__":
    sys.exit(main())
