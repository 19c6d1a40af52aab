"""Runware's images: what an ``inputImage`` / ``image`` names (an image UUID, a data URI, raw
base64 or a URL), the stored images (uploads, inputs, results) and their URLs
``<base>/runware/image/ii/<imageUUID>.<ext>`` (R18), signed and expiring (D193)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from bgmock.server.core import imaging, remote
from bgmock.server.core.engine import Engine
from bgmock.server.core.files import FileStore
from bgmock.server.core.jsonbody import FastJSONResponse
from PIL import Image
from starlette.responses import Response

PROVIDER = "runware"
BUCKET = "runware-images"
IMAGE_PATH = "/image/ii/"            # under the provider's prefix, or under im.runware.ai
MAX_UPLOAD_SIDE = 2048               # R14
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DATA_URI = re.compile(r"data:([\w/+.-]*);base64,", re.ASCII)
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
STORED_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}  # kept as they came


class BadImage(ValueError):
    """The value names no image the mock can read (-> invalidInputImage)."""


def new_uuid(engine: Engine, namespace: str) -> str:
    """A UUID v4 from the engine's ids (repeatable under a seed)."""
    digits = engine.ids.hex(f"runware.{namespace}", 32)
    variant = "89ab"[int(digits[16], 16) % 4]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


# --- what a client's image value is --------------------------------------------------------

@dataclass(frozen=True)
class ImageRef:
    """``uuid`` of a stored image, or the ``data`` the value carried, or a ``url`` to fetch."""

    uuid: str | None = None
    data: bytes | None = None
    url: str | None = None


def parse(value: str, max_bytes: int) -> ImageRef:
    """Tell an image value apart (no I/O). Raises :class:`BadImage`."""
    text = value.strip()
    if UUID.fullmatch(text):
        return ImageRef(uuid=text.lower())
    if text[:8].lower().startswith(("http://", "https://")):
        return ImageRef(url=text)
    match = DATA_URI.match(text)
    encoded = text[match.end():] if match else text
    if match is None and text.startswith("data:"):
        raise BadImage("a data URI must be data:<mediaType>;base64,<data>")
    if len(encoded) > max_bytes * 4 // 3 + 8:
        raise BadImage("the image is over the size limit")
    raw = b"".join(encoded.encode("ascii", "replace").split())
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadImage("not a UUID, data URI, base64 image or URL") from exc
    if not data:
        raise BadImage("the image data is empty")
    return ImageRef(data=data)


async def load(engine: Engine, ref: ImageRef, base_url: str) -> bytes:
    """The bytes an image value names. Raises :class:`BadImage`."""
    if ref.data is not None:
        return ref.data
    if ref.uuid is not None:
        obj = engine.files.get(BUCKET, ref.uuid)
        if obj is None:
            raise BadImage(f"no image with UUID {ref.uuid}")
        try:
            return await obj.read()
        except imaging.ImageError as exc:
            raise BadImage("the stored image could not be read") from exc
    assert ref.url is not None
    own = own_image(ref.url)
    if own is not None:
        obj = engine.files.get(BUCKET, own)
        if obj is not None:
            return await obj.read()
        if _is_mock(ref.url, base_url, engine.settings.public_url):
            raise BadImage("the image URL has expired")
        # another host's image path (the docs' im.runware.ai URLs): a URL like any other (C7)
    try:
        return await remote.image_bytes(engine, ref.url, base_url)
    except remote.RemoteImageError as exc:
        raise BadImage(str(exc)) from exc


def _is_mock(url: str, base_url: str, public_url: str | None) -> bool:
    try:
        netloc = urlsplit(url).netloc.lower()
    except ValueError:
        return False
    own = {urlsplit(base_url).netloc.lower()}
    if public_url:
        own.add(urlsplit(public_url).netloc.lower())
    return netloc in own


def own_image(url: str) -> str | None:
    """The image UUID of a URL the mock handed out (any host: behind a proxy the host differs),
    or of an ``im.runware.ai`` URL; None for any other URL."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    path = path.removeprefix("/runware")
    for prefix in (IMAGE_PATH, "/image/ws/0.5/ii/"):
        if path.startswith(prefix):
            name = path[len(prefix):].rsplit(".", 1)[0]
            if UUID.fullmatch(name):
                return name.lower()
    return None


# --- uploads (CPU work: module level, for imaging.offload) ---------------------------------

@dataclass(frozen=True)
class Stored:
    data: bytes
    mime: str
    width: int
    height: int


def capped_upload(data: bytes, limits: imaging.Limits, max_side: int = MAX_UPLOAD_SIDE
                  ) -> Stored:
    """An uploaded image as it is kept: its own bytes when it is PNG, JPG or WEBP within
    ``max_side``; otherwise scaled down (aspect kept, R14) and/or re-encoded as PNG (BMP, GIF)."""
    probe = imaging.probe(data, limits)
    fmt = probe.format.upper()
    if fmt in STORED_FORMATS and max(probe.width, probe.height) <= max_side:
        return Stored(data, MIME[fmt], probe.width, probe.height)
    img = imaging.pixels(data, limits)
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out_fmt = fmt if fmt in STORED_FORMATS else "PNG"
    if out_fmt == "JPEG" and img.mode != "RGB":
        img = img.convert("RGB")
    buffer = io.BytesIO()
    img.save(buffer, out_fmt, **({"quality": 95} if out_fmt in ("JPEG", "WEBP") else {}))
    return Stored(buffer.getvalue(), MIME[out_fmt], img.width, img.height)


# --- stored images and their URLs -----------------------------------------------------------

def store(files: FileStore, uuid: str, data: bytes, mime: str, ttl: float) -> None:
    """Keep an image ``ttl`` seconds (its URL's lifetime) under its UUID."""
    files.put(BUCKET, uuid, data, mime, ttl=ttl)


def _signature(engine: Engine, name: str, expires: int) -> str:
    message = f"runware{IMAGE_PATH}{name}\n{expires}".encode()
    return hmac.digest(engine.s3.secret, message, hashlib.sha256).hex()[:32]


def url(engine: Engine, base_url: str, uuid: str, mime: str, ttl: float) -> str:
    """``<base>/runware/image/ii/<uuid>.<ext>``, signed until ``now + ttl`` (D193)."""
    name = f"{uuid}.{EXTENSIONS.get(mime, 'png')}"
    expires = int(engine.clock.now() + ttl)
    return (f"{base_url}/{PROVIDER}{IMAGE_PATH}{name}"
            f"?expires={expires}&signature={_signature(engine, name, expires)}")


def encoded(data: bytes, mime: str, output: str) -> str:
    """``imageBase64Data`` (plain base64) or ``imageDataURI`` (``data:<mime>;base64,...``)."""
    text = base64.b64encode(data).decode("ascii")
    return f"data:{mime};base64,{text}" if output == "imageDataURI" else text


def _refused(status: int, message: str) -> Response:
    return FastJSONResponse({"error": message}, status_code=status)


async def download(engine: Engine, path: str, query: bytes) -> Response:
    """``GET /image/ii/<uuid>.<ext>?expires=&signature=``: the image, or 403 (signature
    missing, wrong or expired) / 404 (no such image, or gone)."""
    name = path[len(IMAGE_PATH):]
    params = dict(parse_qsl(query.decode("latin-1")))
    expires_text, given = params.get("expires", ""), params.get("signature", "")
    if not expires_text.isdigit() or len(expires_text) > 12 or not hmac.compare_digest(
            _signature(engine, name, int(expires_text)), given):
        return _refused(403, "Forbidden")
    if engine.clock.now() > int(expires_text):
        return _refused(403, "Forbidden: the URL has expired")
    uuid, _, ext = name.partition(".")
    obj = engine.files.get(BUCKET, uuid.lower())
    if obj is None or EXTENSIONS.get(obj.content_type) != ext:
        return _refused(404, "Not Found")
    try:
        data = await obj.read()
    except imaging.ImageError:
        return _refused(500, "Internal Server Error")
    return Response(data, media_type=obj.content_type,
                    headers={"Cache-Control": "private, max-age=0"})
