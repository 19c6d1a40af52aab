"""Image URLs given to the mock, offline and SSRF-safe by default (decision C7).

- A URL the mock handed out (same host, ``/files/...``) resolves to the stored bytes; expired
  or tampered ones are refused like a download would be.
- A URL registered through ``/__admin/remote`` gives its registered bytes or failure (D66).
- A host under the reserved ``.invalid`` TLD (RFC 2606) is unreachable.
- Any other URL gives a deterministic synthetic product photo (seeded by the URL), unless
  fetching is enabled (``allow_fetch``) and the host is on ``fetch_allowlist``: then the
  bytes are fetched for real, without redirects, within ``fetch_timeout`` seconds and the
  image byte limit.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

from bgmock.server.core import fileurls, imaging
from bgmock.server.core.engine import Engine
from bgmock.server.core.files import Denied
from bgmock.server.core.urlregistry import Registered

SYNTHETIC_SIZE = (1000, 1000)
NOT_AN_IMAGE = b"<!DOCTYPE html><html><body><h1>Not an image</h1></body></html>\n"


class RemoteImageError(Exception):
    """The URL gave no image bytes (refused, missing, unreachable, not http(s))."""


class RemoteImageTooLarge(RemoteImageError):
    pass


@lru_cache(maxsize=64)
def synthetic_jpeg(url: str) -> bytes:
    return imaging.encode(imaging.synthetic_product(url, *SYNTHETIC_SIZE), "jpg")


def host_allowed(host: str, allowlist: tuple[str, ...]) -> bool:
    """Exact host, or a ``.suffix`` entry matching any subdomain."""
    host = host.lower()
    return any(host == entry.lower() or (entry.startswith(".") and host.endswith(entry.lower()))
               for entry in allowlist)


async def image_bytes(engine: Engine, url: str, base_url: str) -> bytes:
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # e.g. an unbalanced "[" in the host
        raise RemoteImageError("not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise RemoteImageError("not an http(s) URL")
    own = {urlsplit(base_url).netloc.lower()}
    if engine.settings.public_url:
        own.add(urlsplit(engine.settings.public_url).netloc.lower())
    if parts.netloc.lower() in own and parts.path.startswith("/files/"):
        try:
            obj = fileurls.locate(engine, unquote(parts.path),
                                  dict(parse_qsl(parts.query, keep_blank_values=True)))
        except (Denied, fileurls.Missing) as exc:
            raise RemoteImageError(f"the URL gives no file: {exc}") from exc
        try:
            return await obj.read()
        except imaging.ImageError as exc:  # a lazy object whose worker was lost (D150)
            raise RemoteImageError("the URL's file could not be made") from exc
    registered = engine.remote.get(url)
    if registered is not None:
        return _registered(registered, engine.settings.max_image_bytes)
    host = hostname.rstrip(".")
    if host == "invalid" or host.endswith(".invalid"):
        raise RemoteImageError("the host is unreachable (.invalid)")
    settings = engine.settings
    if settings.allow_fetch and host_allowed(hostname, settings.fetch_allowlist):
        return await _fetch(url, settings.fetch_timeout, settings.max_image_bytes)
    try:
        return await imaging.offload(synthetic_jpeg, url)
    except imaging.ImageError as exc:  # its worker was lost (D150)
        raise RemoteImageError("the synthetic image could not be made") from exc


def _registered(entry: Registered, limit: int) -> bytes:
    """What fetching a registered URL gives: its bytes, or its failure as a fetch would."""
    if entry.failure == "timeout":
        raise RemoteImageError("fetching the URL failed: ReadTimeout")
    if entry.failure == "too_large" or entry.size > limit:
        raise RemoteImageTooLarge(f"the image is over {limit} bytes")
    if entry.failure == "not_image":
        return NOT_AN_IMAGE
    if entry.status != 200:
        raise RemoteImageError(f"fetching the URL answered HTTP {entry.status}")
    return entry.data or b""


async def _fetch(url: str, timeout: float, limit: int) -> bytes:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client, \
                client.stream("GET", url) as response:
            if response.status_code != 200:
                raise RemoteImageError(f"fetching the URL answered HTTP {response.status_code}")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise RemoteImageTooLarge(f"the image is over {limit} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise RemoteImageError(f"fetching the URL failed: {type(exc).__name__}") from exc
