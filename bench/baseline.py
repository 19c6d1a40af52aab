"""The bare comparison app: plain Starlette under uvicorn, configured like ``bgmock serve``.

Same uvicorn ``Config`` as the mock's CLI (loop and http left on ``auto``, one worker, no
``server`` header, 5 s graceful shutdown) but access log off and log level ``warning``.
``GET /__admin/health`` answers a small JSON object; one route (``--method``, ``--path``,
default the Topview query) answers the status, content type and bytes of ``--body`` (the
mock's own answer, captured by the bench) without looking at the request. A route for a
method with a body reads the body first, as any handler of a POST does.

    python -m bench.baseline --port 9000 [--body FILE] [--method POST --path /x --status 200]
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
JSON = "application/json"


def build(body: bytes, path: str = QUERY_PATH, method: str = "GET", status: int = 200,
          content_type: str = JSON) -> Starlette:
    async def health(_: Request) -> Response:
        return Response(HEALTH, media_type=JSON)

    async def answer(_: Request) -> Response:
        return Response(body, status_code=status, media_type=content_type)

    async def answer_after_body(request: Request) -> Response:
        await request.body()
        return Response(body, status_code=status, media_type=content_type)

    handler = answer if method in ("GET", "HEAD") else answer_after_body
    return Starlette(routes=[Route("/__admin/health", health, methods=["GET"]),
                             Route(path.split("?", 1)[0], handler, methods=[method])])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", help="file whose bytes the route answers")
    parser.add_argument("--path", default=QUERY_PATH, help="the route's path (query ignored)")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--content-type", default=JSON)
    args = parser.parse_args(argv)
    body = HEALTH
    if args.body:
        with open(args.body, "rb") as f:
            body = f.read()
    app = build(body, args.path, args.method.upper(), args.status, args.content_type)
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=5, server_header=False)
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
