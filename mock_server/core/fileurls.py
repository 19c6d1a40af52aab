"""From a ``/files/...`` URL the mock handed out back to the stored object, signature checked.

Used by the ``/files`` routes and by providers that accept image URLs: a URL the mock made
resolves to its bytes, and an expired or tampered one is refused the same way in both places.
"""

from __future__ import annotations

from bgmock.server.core.engine import Engine
from bgmock.server.core.files import Denied, StoredObject

# What each storage service says for an expired object (an evicted one answers the same).
EXPIRED = {"s3": "Request has expired", "cf": "Access denied", "oss": "Request has expired."}


class Missing(LookupError):
    """The URL is well signed but nothing is stored there (any more)."""


def locate(engine: Engine, path: str, params: dict[str, str]) -> StoredObject:
    """``path`` as routed (decoded): ``/files/<style>/<bucket or distribution>/<key>``."""
    style, _, rest = path.removeprefix("/files/").partition("/")
    where, _, key = rest.partition("/")
    now = engine.clock.now()
    if not where or not key:
        raise Missing(path)
    if style == "s3":
        engine.s3.verify("GET", where, key, params, now)
        bucket = where
    elif style == "cf":
        engine.cloudfront.verify(where, key, params, now)
        bucket = engine.cloudfront_origins.get(where, where)
    elif style == "oss":
        engine.oss.verify(where, key, params, now)
        bucket = where
    else:
        raise Missing(path)
    obj = engine.files.get(bucket, key)
    if obj is None:
        if engine.files.eviction(bucket, key) is not None:  # D29: as if it had expired
            raise Denied(EXPIRED[style], expired=True)
        raise Missing(key)
    return obj


__all__ = ["Denied", "Missing", "locate"]
