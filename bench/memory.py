"""Row 5: the mock's RSS after N mixed requests, and whether it is flat from N/2 to N.

``bgmock serve`` with its defaults (real clock, demo accounts). The asyncio generator of
``bench.load`` rotates through ten requests on 32 keep-alive connections and stops after
exactly N/2 requests; RSS (VmRSS of the server process; of its child processes too, e.g. an
imaging pool, in ``*_with_children``) is read; then N/2 more, and RSS again:

- 3 Topview queries of the docs' finished tasks (two different tasks), 1 credit read;
- 1 Topview submit of a docs image: accepted while the demo account has concurrency (8) and
  credits (1,000, 0.5 each), so tasks run (real clock: they end and do their image work);
  then refused with 4007 / 4100 like a client that keeps trying;
- errors: a query of an unknown task, a wrong API key, an Aidge call with a wrong signature,
  an Aidge call with an unknown app key;
- malformed (10 %): a submit whose body is cut off in the middle of the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bench import load, procs
from bench.load import HttpRequest, get
from bench.providers import (
    AIDGE_CUT_OUT,
    TOPVIEW_HEADERS,
    TOPVIEW_QUERY,
    TOPVIEW_SUBMIT,
    aidge_bad_signature,
)

RSS_TARGET_MB = 80.0
GROWTH_TARGET = 0.05            # from N/2 to N
CONNECTIONS = 32
MAX_SECONDS = 300.0             # per half, on top of the count
DOCS_SOURCE = "5a85c359bff14c95889e4652f1ec467e"
OTHER_TASK = "4274b375c30844c8bd0b1e4b6e44fb5f"
JSON_HEADERS = (*TOPVIEW_HEADERS.items(), ("Content-Type", "application/json"))


def mixed_requests(port: int) -> tuple[HttpRequest, ...]:
    bad_signature = aidge_bad_signature(port)[0]
    return (
        get(TOPVIEW_QUERY, TOPVIEW_HEADERS),
        HttpRequest("POST", TOPVIEW_SUBMIT, JSON_HEADERS,
                    json.dumps({"productImageFileId": DOCS_SOURCE}).encode()),
        get(TOPVIEW_QUERY.replace(TOPVIEW_QUERY.rsplit("=", 1)[1], OTHER_TASK),
            TOPVIEW_HEADERS),
        get(TOPVIEW_QUERY.rsplit("=", 1)[0] + "=" + "0" * 32, TOPVIEW_HEADERS),
        get("/topview/user/credit/detail", TOPVIEW_HEADERS),
        get(TOPVIEW_QUERY, {**TOPVIEW_HEADERS, "Authorization": "Bearer sk-wrong"}),
        bad_signature,
        get(TOPVIEW_QUERY, TOPVIEW_HEADERS),
        HttpRequest("POST", f"{AIDGE_CUT_OUT}?sign_ver=v2&app_key=nobody&timestamp=1&sign=A",
                    (("Content-Type", "application/json"),), b"{}"),
        HttpRequest("POST", TOPVIEW_SUBMIT, JSON_HEADERS, b'{"productImageFileId": "5a85'),
    )


def run(requests: int, core: int | None, progress: Callable[[str], None] = print
        ) -> dict[str, Any]:
    half = requests // 2
    port = procs.free_port()
    with procs.server(procs.mock_command(port), port, core) as proc:
        sent = mixed_requests(port)
        rss = {"start": procs.rss_mb(proc.pid)}
        halves = []
        for mark in ("half", "end"):
            figures = load.run_python(port, sent, CONNECTIONS, MAX_SECONDS, half)
            halves.append(figures.as_dict())
            rss[mark] = procs.rss_mb(proc.pid)
            rss[f"{mark}_with_children"] = procs.tree_rss_mb(proc.pid)
            progress(f"  mixed: {figures.requests} requests in {figures.requests / figures.rps:.1f}"
                     f" s ({figures.rps:.0f} req/s, {figures.errors} non-2xx), RSS {rss[mark]} MB")
        alive = procs.get(port, "/__admin/health")[0] == 200
    done = sum(h["requests"] for h in halves)
    growth = (rss["end"] - rss["half"]) / rss["half"]
    return {"requests": done, "planned": 2 * half, "rotation": len(sent),
            "connections": CONNECTIONS, "rss_mb": rss, "growth_half_to_end": round(growth, 4),
            "halves": halves, "healthy_after": alive,
            "complete": done == 2 * half and alive}
