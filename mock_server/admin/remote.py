"""``/__admin/remote``: register remote URLs with chosen bytes or a chosen failure (D66).

Every refusal is HTTP 400 with a short ``detail`` that never echoes the input back.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Literal
from urllib.parse import urlsplit

from bgmock.server.core.endpoints import read_body
from bgmock.server.core.engine import Engine
from bgmock.server.core.urlregistry import (
    MAX_URL_LENGTH,
    Registered,
    RegistryFull,
)
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

MAX_CONTENT_TYPE = 100


class RemoteIn(BaseModel):
    url: str = Field(description="Exact URL (http or https) as clients will send it")
    base64: str | None = Field(None, description="Bytes to answer with (HTTP 200), base64")
    content_type: str | None = Field(None, description="Content type of those bytes")
    status: int | None = Field(None, description="An HTTP error status to answer with instead "
                                                 "(100..599, not 200)")
    failure: Literal["timeout", "not_image", "too_large"] | None = Field(
        None, description="timeout: the fetch times out; not_image: bytes that are no image; "
                          "too_large: more bytes than the image limit")


def _bad(message: str) -> HTTPException:
    return HTTPException(400, message)


def _entry(body: RemoteIn, max_bytes: int) -> Registered:
    if len(body.url) > MAX_URL_LENGTH:
        raise _bad(f"url is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(body.url)
        scheme, host = parts.scheme, parts.hostname
    except ValueError:
        scheme, host = "", None
    if scheme not in ("http", "https") or not host:
        raise _bad("url must be an http(s) URL with a host")
    given = [name for name in ("base64", "status", "failure") if getattr(body, name) is not None]
    if len(given) != 1:
        raise _bad("give exactly one of base64, status, failure")
    if body.content_type is not None and (body.base64 is None
                                          or len(body.content_type) > MAX_CONTENT_TYPE):
        raise _bad(f"content_type goes with base64, at most {MAX_CONTENT_TYPE} characters")
    if body.status is not None:
        if not 100 <= body.status <= 599 or body.status == 200:
            raise _bad("status must be 100..599 and not 200 (give base64 for a 200)")
        return Registered(body.url, status=body.status)
    if body.failure is not None:
        return Registered(body.url, failure=body.failure)
    encoded = body.base64 or ""
    if len(encoded) > 4 * math.ceil(max_bytes / 3):
        raise _bad(f"base64 decodes to more than {max_bytes} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad("base64 is not valid base64") from exc
    return Registered(body.url, data=data,
                      content_type=body.content_type or "application/octet-stream")


def router(engine: Engine) -> APIRouter:
    api = APIRouter()
    body_limit = engine.remote.max_bytes * 4 // 3 + 64 * 1024

    @api.put("/remote", summary="Register a remote URL: bytes to answer with, or a failure",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": RemoteIn.model_json_schema()}}}})
    async def put_remote(request: Request) -> dict[str, Any]:
        try:
            raw = await read_body(request, body_limit)
        except ValueError as exc:
            raise _bad("body too large") from exc
        try:
            body = RemoteIn.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise _bad(f"{where}: {first['msg']}"[:200]) from None
        try:
            return engine.remote.put(_entry(body, engine.remote.max_bytes)).snapshot()
        except RegistryFull as exc:
            raise _bad(str(exc)) from exc

    @api.get("/remote", summary="Registered remote URLs")
    async def list_remote() -> dict[str, Any]:
        return engine.remote.snapshot()

    @api.delete("/remote", summary="Forget one registered URL (?url=) or all of them")
    async def delete_remote(url: str | None = None) -> dict[str, Any]:
        if url is None:
            engine.remote.clear()
            return {"status": "cleared"}
        if not engine.remote.remove(url):
            raise HTTPException(404, "that URL is not registered")
        return {"status": "removed"}

    return api
