"""The bare comparison app: plain Starlette under uvicorn, configured like ``bgmock serve``.

Same uvicorn ``Config`` as the mock's CLI (loop and http left on ``auto``, one worker, no
``server`` header, 5 s graceful shutdown) but access log off and log level ``warning``.
``GET /__admin/health`` answers a small JSON object; the query route answers the bytes of
``--body`` (the mock's own answer, captured by the bench) without looking at the request.

    python -m bench.baseline --port 9000 [--body FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

QUERY_PATH = "/topview/v1/common_task/remove_background/query"
HEALTH = b'{"status":"ok"}'


def build(body: bytes) -> Starlette:
    async def health(_: Request) -> Response:
        return Response(HEALTH, media_type="application/json")

    async def query(_: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/__admin/health", health, methods=["GET"]),
                             Route(QUERY_PATH, query, methods=["GET"])])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", help="file whose bytes the query route answers")
    args = parser.parse_args(argv)
    body = HEALTH
    if args.body:
        with open(args.body, "rb") as f:
            body = f.read()
    config = uvicorn.Config(build(body), host="127.0.0.1", port=args.port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=5, server_header=False)
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
