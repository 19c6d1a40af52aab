"""``/files/...``: downloads and presigned uploads behind the provider-shaped signed URLs.

Errors look like the storage service the provider uses: S3, CloudFront and OSS answer XML with
``AccessDenied`` on an expired or tampered URL (T35, A20; OSS says
``SignatureDoesNotMatch`` for a tampered one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from xml.sax.saxutils import escape

from bgmock.server.core import fileurls
from bgmock.server.core.engine import Engine
from bgmock.server.core.files import Denied, StoredObject, request_id
from bgmock.server.core.httputil import allow_header
from bgmock.server.core.imaging import ImageError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, request_response
from starlette.types import Receive, Scope, Send


def _xml_error(status: int, code: str, message: str, **extra: str) -> Response:
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message>{fields}"
            f"<RequestId>{request_id()}</RequestId></Error>")
    return Response(body, status_code=status, media_type="application/xml")


def _denied(exc: Denied) -> Response:
    return _xml_error(403, "AccessDenied", exc.reason)


async def _send(obj: StoredObject | None, key: str) -> Response:
    if obj is None:
        return _xml_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
    try:
        data = await obj.read()  # a lazy object is made now, by an imaging worker
    except ImageError:  # its worker was lost (D150): the storage's own server error
        return _xml_error(500, "InternalError",
                          "We encountered an internal error. Please try again.")
    return Response(data, media_type=obj.content_type,
                    headers={"ETag": f'"{hashlib.md5(data).hexdigest()}"',
                             "Cache-Control": "private, max-age=0"})


def routes(eng: Engine) -> list[BaseRoute]:
    async def download(request: Request) -> Response:
        path = request.scope["path"]
        try:
            obj = fileurls.locate(eng, path, dict(request.query_params))
        except Denied as exc:
            if path.startswith("/files/cf/"):
                return _xml_error(403, "AccessDenied", "Access denied")
            code = "SignatureDoesNotMatch" if path.startswith("/files/oss/") and not exc.expired \
                else "AccessDenied"
            return _xml_error(403, code, exc.reason)
        except fileurls.Missing:
            return await _send(None, path.rsplit("/", 1)[-1])
        return await _send(obj, obj.key)

    async def s3_put(request: Request) -> Response:
        bucket, key = request.path_params["bucket"], request.path_params["key"]
        try:
            eng.s3.verify("PUT", bucket, key, dict(request.query_params), eng.clock.now())
        except Denied as exc:
            return _denied(exc)
        slot = eng.files.upload_slot(bucket, key)
        if slot is None:
            return _xml_error(403, "AccessDenied", "Access Denied")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > slot.max_bytes:
                return _xml_error(400, "EntityTooLarge",
                                  "Your proposed upload exceeds the maximum allowed size",
                                  MaxSizeAllowed=str(slot.max_bytes))
            chunks.append(chunk)
        data = b"".join(chunks)
        content_type = request.headers.get("content-type") or slot.content_type
        eng.files.put_upload(bucket, key, data, content_type)  # a repeated PUT replaces: last wins
        return Response(b"", headers={"ETag": f'"{hashlib.md5(data).hexdigest()}"'})

    async def s3_object(request: Request) -> Response:
        if request.method == "PUT":
            return await s3_put(request)
        return await download(request) if request.method in ("GET", "HEAD") \
            else _not_allowed(request.method, ("GET", "PUT"))

    async def other_object(request: Request) -> Response:
        return await download(request) if request.method in ("GET", "HEAD") \
            else _not_allowed(request.method, ("GET",))

    # One route per path, taking every method, so a wrong method gets the storage's own 405
    # with the ``Allow`` of that path (two routes for one path would each claim only theirs).
    return [
        Route("/files/s3/{bucket}/{key:path}", _AnyMethod(s3_object)),
        Route("/files/{style}/{where}/{key:path}", _AnyMethod(other_object)),
    ]


class _AnyMethod:
    """An ASGI app (so the route takes every method) answering through ``handler``."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.asgi = request_response(handler)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)


def _not_allowed(method: str, methods: tuple[str, ...]) -> Response:
    response = _xml_error(405, "MethodNotAllowed",
                          "The specified method is not allowed against this resource.",
                          Method=method[:20], ResourceType="OBJECT")
    response.headers["Allow"] = allow_header(methods)
    return response
