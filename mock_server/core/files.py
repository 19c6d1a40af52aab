"""Stored objects and provider-shaped signed, expiring URLs.

Objects live in buckets (``bucket``/``key`` like S3). A result can be stored as bytes or as a
producer that makes the bytes on first download (fixtures cost nothing at start-up). Every URL
the mock hands out points at its own ``/files/...`` routes and carries a signature in the shape
the provider uses (S3 presign, CloudFront policy, ...); the routes verify it against the mock
clock, so a URL really dies when it expires.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import quote

from bgmock.server.core import imaging
from bgmock.server.core.clock import Clock
from bgmock.server.core.timeline import Retention, Timeline, deadline

Producer = Callable[[], bytes]
T = TypeVar("T")


MAX_DERIVED_BYTES = 64 * 1024 * 1024  # per result kept by FileStore.derive


def _byte_size(value: Any) -> int:
    """Bytes a derived result holds: its bytes, plus a little for everything else."""
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, tuple | list):
        return 64 + sum(_byte_size(v) for v in value)
    return 64


@dataclass(slots=True)
class StoredObject:
    bucket: str
    key: str
    content_type: str
    data: bytes | None = None
    producer: Producer | None = field(default=None, repr=False)
    created_at: float = 0.0
    expires_at: float | None = None  # dropped then (None: kept until evicted)
    _lock: asyncio.Lock | None = field(default=None, repr=False)  # lazy objects only
    _derived: dict[tuple[Any, ...], Any] | None = field(default=None, repr=False)
    derived_bytes: int = 0  # what FileStore.derive keeps with it, counted in its size

    @property
    def size(self) -> int:
        return (len(self.data) if self.data is not None else 0) + self.derived_bytes

    async def read(self) -> bytes:
        """The bytes; a lazy object is produced once, off the event loop."""
        if self.data is None:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self.data is None and self.producer is not None:
                    self.data = await imaging.offload(self.producer)
        return self.data or b""


@dataclass(slots=True)
class UploadSlot:
    """Where presigned PUTs may store one object: each PUT until the URL expires replaces it
    (last write wins, as on S3), each within ``max_bytes``."""

    max_bytes: int
    content_type: str
    expires_at: float | None = None  # the slot itself (the upload URL's lifetime)
    keep_for: float | Retention | None = None  # how long an object PUT here is kept


@dataclass(frozen=True, slots=True)
class Eviction:
    """Why an object is gone before its URLs expired: the byte cap made room for newer ones
    (``cause`` "evicted"), or its lifetime ended ("expired")."""

    bucket: str
    key: str
    size: int
    stored_at: float
    evicted_at: float
    cause: str = "evicted"

    def snapshot(self) -> dict[str, object]:
        reason = "evicted: the stored bytes reached max_stored_bytes" \
            if self.cause == "evicted" else "expired: the provider's retention ended"
        return {"bucket": self.bucket, "key": self.key, "size": self.size,
                "storedAt": self.stored_at, "evictedAt": self.evicted_at, "reason": reason}


class FileStore:
    """Objects by (bucket, key), with a byte cap: the oldest stored bytes go first.

    Pinned objects (the docs' fixtures, made lazily) are never evicted and do not count
    towards the cap. An evicted object leaves a tombstone (the newest :data:`TOMBSTONES`), so its
    URLs answer like an expired object's and the admin API can say why (decision D29).

    Objects and upload slots given a lifetime (``ttl``, on the mock clock) are dropped when it
    ends (decision D92): the ``timeline`` drops them unread, and a read after the end finds
    nothing even before that. An expired object leaves a tombstone too.
    """

    TOMBSTONES = 10_000

    def __init__(self, clock: Clock, max_bytes: int, timeline: Timeline | None = None) -> None:
        self.clock = clock
        self.max_bytes = max_bytes
        self.timeline = timeline if timeline is not None else Timeline()
        self._objects: OrderedDict[tuple[str, str], StoredObject] = OrderedDict()
        self._pinned: dict[tuple[str, str], StoredObject] = {}
        self._uploads: dict[tuple[str, str], UploadSlot] = {}
        self._evicted: OrderedDict[tuple[str, str], Eviction] = OrderedDict()
        self._bytes = 0

    def expect_upload(self, bucket: str, key: str, max_bytes: int, content_type: str,
                      ttl: float | None = None,
                      keep_for: float | Retention | None = None) -> None:
        """A slot for presigned PUTs, open ``ttl`` seconds; what is PUT is kept ``keep_for``."""
        where = (bucket, key)
        expires_at = None if ttl is None else self.clock.now() + ttl
        slot = UploadSlot(max_bytes, content_type, expires_at, keep_for)
        self._uploads[where] = slot
        if expires_at is not None:
            self.timeline.at(expires_at, self._close_slot, (where, slot))

    def upload_slot(self, bucket: str, key: str) -> UploadSlot | None:
        slot = self._uploads.get((bucket, key))
        if slot is not None and slot.expires_at is not None \
                and self.clock.now() >= slot.expires_at:
            self._close_slot(((bucket, key), slot))
            return None
        return slot

    def put_upload(self, bucket: str, key: str, data: bytes,
                   content_type: str) -> StoredObject:
        """Store a presigned PUT's bytes, kept as long as its slot says."""
        slot = self._uploads.get((bucket, key))
        return self.put(bucket, key, data, content_type,
                        ttl=slot.keep_for if slot is not None else None)

    def put(self, bucket: str, key: str, data: bytes, content_type: str,
            ttl: float | Retention | None = None) -> StoredObject:
        """Store ``data``; with ``ttl`` (seconds or a rule), dropped when it ends."""
        self.delete(bucket, key)
        now = self.clock.now()
        obj = StoredObject(bucket, key, content_type, data=data, created_at=now,
                           expires_at=None if ttl is None else deadline(now, ttl))
        self._objects[(bucket, key)] = obj
        self._bytes += len(data)
        if obj.expires_at is not None:
            self.timeline.at(obj.expires_at, self._expire_entry, ((bucket, key), obj))
        self._evict()
        return obj

    def put_lazy(self, bucket: str, key: str, producer: Producer,
                 content_type: str) -> StoredObject:
        """A pinned object whose bytes are made on first read (fixtures: free at start-up)."""
        self.delete(bucket, key)
        obj = StoredObject(bucket, key, content_type, producer=producer,
                           created_at=self.clock.now())
        self._pinned[(bucket, key)] = obj
        return obj

    async def derive(self, obj: StoredObject, fn: Callable[..., T], *args: Any) -> T:
        """``fn(obj's bytes, *args)`` off the event loop, worked out once per object (D164).

        A stored object never changes (a new PUT stores a new one) and ``fn`` is deterministic,
        so a client submitting the same upload again, and the docs' fixture, cost one piece of
        image work, not one per task; callers that arrive while it runs wait for the same work.
        What is kept counts in the object's size (the byte cap, eviction) and goes with it; a
        result over :data:`MAX_DERIVED_BYTES`, an error, or work on an object replaced
        meanwhile is not kept."""
        key = (fn, *args)
        memo = obj._derived if obj._derived is not None else {}
        obj._derived = memo
        found = memo.get(key)
        if found is None:
            found = memo[key] = asyncio.ensure_future(self._derive(obj, key, fn, args))
        if isinstance(found, asyncio.Future):
            return await asyncio.shield(found)  # type: ignore[no-any-return]
        return found  # type: ignore[no-any-return]

    async def _derive(self, obj: StoredObject, key: tuple[Any, ...], fn: Callable[..., T],
                      args: tuple[Any, ...]) -> T:
        memo = obj._derived
        assert memo is not None
        try:
            result = await imaging.offload(fn, await obj.read(), *args)
        except BaseException:
            memo.pop(key, None)  # errors are not kept: the next caller tries again
            raise
        size = _byte_size(result)
        where = (obj.bucket, obj.key)
        pinned = self._pinned.get(where) is obj
        if size <= MAX_DERIVED_BYTES and (pinned or self._objects.get(where) is obj):
            memo[key] = result
            obj.derived_bytes += size
            if not pinned:
                self._bytes += size
                self._evict()
        else:
            memo.pop(key, None)
        return result

    def get(self, bucket: str, key: str) -> StoredObject | None:
        obj = self._objects.get((bucket, key))
        if obj is not None and obj.expires_at is not None and self.clock.now() >= obj.expires_at:
            self._expire((bucket, key), obj)
            obj = None
        return obj or self._pinned.get((bucket, key))

    def exists(self, bucket: str, key: str) -> bool:
        return self.get(bucket, key) is not None

    def eviction(self, bucket: str, key: str) -> Eviction | None:
        """Why (bucket, key) is gone, if the byte cap evicted it."""
        return self._evicted.get((bucket, key))

    def evictions(self, limit: int = 100) -> list[Eviction]:
        """The newest evictions by the byte cap, newest last."""
        return [e for e in self._evicted.values() if e.cause == "evicted"][-limit:]

    def delete(self, bucket: str, key: str) -> None:
        self._evicted.pop((bucket, key), None)
        self._pinned.pop((bucket, key), None)
        old = self._objects.pop((bucket, key), None)
        if old is not None:
            self._bytes -= old.size

    def _evict(self) -> None:
        now = self.clock.now()
        while self._bytes > self.max_bytes and len(self._objects) > 1:
            where, oldest = self._objects.popitem(last=False)
            self._bytes -= oldest.size
            self._bury(where, Eviction(oldest.bucket, oldest.key, oldest.size,
                                       oldest.created_at, now))

    def _bury(self, where: tuple[str, str], tombstone: Eviction) -> None:
        self._evicted[where] = tombstone
        if len(self._evicted) > self.TOMBSTONES:
            self._evicted.popitem(last=False)

    def _expire(self, where: tuple[str, str], obj: StoredObject) -> None:
        """A timeline action: ``obj``'s lifetime ended (a newer object there is left alone)."""
        if self._objects.get(where) is obj:
            del self._objects[where]
            self._bytes -= obj.size
            self._bury(where, Eviction(obj.bucket, obj.key, obj.size, obj.created_at,
                                       self.clock.now(), cause="expired"))

    def expire(self, bucket: str, key: str) -> None:
        """Drop the object now, as if its lifetime ended (its URLs answer as expired)."""
        obj = self._objects.get((bucket, key))
        if obj is not None:
            self._expire((bucket, key), obj)

    def _expire_entry(self, entry: tuple[tuple[str, str], StoredObject]) -> None:
        self._expire(*entry)

    def _close_slot(self, entry: tuple[tuple[str, str], UploadSlot]) -> None:
        where, slot = entry
        if self._uploads.get(where) is slot:
            del self._uploads[where]

    @property
    def total_bytes(self) -> int:
        return self._bytes

    @property
    def evicted_count(self) -> int:
        return sum(1 for e in self._evicted.values() if e.cause == "evicted")

    @property
    def object_count(self) -> int:
        return len(self._objects)

    @property
    def upload_count(self) -> int:
        return len(self._uploads)


@lru_cache(maxsize=64)
def _amz_scope(second: int, access_key_id: str, region: str) -> tuple[str, str, str]:
    """X-Amz-Date, the credential scope and its quoted form for one second."""
    stamp = datetime.fromtimestamp(second, UTC)
    credential = f"{access_key_id}/{stamp:%Y%m%d}/{region}/s3/aws4_request"
    return stamp.strftime("%Y%m%dT%H%M%SZ"), credential, quote(credential, safe="")


@lru_cache(maxsize=16)
def _keyed(secret: bytes) -> hmac.HMAC:
    return hmac.new(secret, digestmod=hashlib.sha256)


def _hmac(secret: bytes, message: str) -> bytes:
    mac = _keyed(secret).copy()  # the keyed state is computed once per secret
    mac.update(message.encode())
    return mac.digest()


quote_key = lru_cache(maxsize=8192)(quote)  # the same object keys are signed again and again


def cloudfront_b64(raw: bytes) -> str:
    """CloudFront's URL-safe base64: ``+`` -> ``-``, ``=`` -> ``_``, ``/`` -> ``~``."""
    return base64.b64encode(raw).decode().translate(str.maketrans("+=/", "-_~"))


def cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.translate(str.maketrans("-_~", "+=/")), validate=True)


class Denied(Exception):
    """A signed URL that is expired, tampered with or used up; ``reason`` for the error body."""

    def __init__(self, reason: str, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


@dataclass(frozen=True, eq=False)  # hashed by identity: its method caches hash it per call
class S3Presign:
    """AWS SigV4 query-presign shape (``X-Amz-*``), signed with the mock's own key."""

    secret: bytes
    access_key_id: str = "AKIAMOCKBGMOCK000000"
    region: str = "us-east-1"

    def url(self, base: str, bucket: str, key: str, *, now: float, expires: int,
            method: str = "GET") -> str:
        return self._url(base, bucket, key, int(now), expires, method)

    @lru_cache(maxsize=4096)  # noqa: B019 - exact: a URL signed in the same second is the same
    def _url(self, base: str, bucket: str, key: str, now: int, expires: int, method: str) -> str:
        amz_date, credential, quoted = _amz_scope(now, self.access_key_id, self.region)
        signature = self._sign(method, bucket, key, amz_date, str(expires), credential)
        return (f"{base}/files/s3/{bucket}/{quote_key(key, safe='/')}"
                f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={amz_date}"
                f"&X-Amz-SignedHeaders=host&X-Amz-Expires={expires}"
                f"&X-Amz-Credential={quoted}&X-Amz-Signature={signature}")

    def verify(self, method: str, bucket: str, key: str, params: dict[str, str],
               now: float) -> None:
        try:
            amz_date = params["X-Amz-Date"]
            expires = params["X-Amz-Expires"]
            credential = params["X-Amz-Credential"]
            given = params["X-Amz-Signature"]
            issued = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            lifetime = int(expires)
        except (KeyError, ValueError) as exc:
            raise Denied("Query-string authentication requires the Signature, Expires and "
                         "AWSAccessKeyId parameters") from exc
        expected = self._sign(method, bucket, key, amz_date, expires, credential)
        if not hmac.compare_digest(expected, given):
            raise Denied("The request signature we calculated does not match the signature "
                         "you provided. Check your key and signing method.")
        if now > issued.timestamp() + lifetime:
            raise Denied("Request has expired", expired=True)

    def _sign(self, method: str, bucket: str, key: str, amz_date: str, expires: str,
              credential: str) -> str:
        canonical = "\n".join((method, f"/{bucket}/{key}", amz_date, expires, credential))
        return _hmac(self.secret, canonical).hex()


@dataclass(frozen=True, eq=False)  # hashed by identity: its method caches hash it per call
class CloudFrontSign:
    """CloudFront custom-policy shape (``Policy``, ``Signature``, ``Key-Pair-Id``)."""

    secret: bytes
    key_pair_id: str = "K2BGMOCK0000MK"

    @staticmethod
    def resource(distribution: str, key: str) -> str:
        return f"https://{distribution}.cloudfront.net/{quote_key(key, safe='')}"

    def url(self, base: str, distribution: str, key: str, *, now: float, ttl: int) -> str:
        return self._url(base, distribution, key, int(now), ttl)

    @lru_cache(maxsize=4096)  # noqa: B019 - exact: a URL signed in the same second is the same
    def _url(self, base: str, distribution: str, key: str, now: int, ttl: int) -> str:
        policy = json.dumps({"Statement": [{
            "Resource": self.resource(distribution, key),
            "Condition": {"DateLessThan": {"AWS:EpochTime": now + ttl}},
        }]}, separators=(",", ":")).encode()
        signature = cloudfront_b64(_hmac(self.secret, policy.decode()))
        return (f"{base}/files/cf/{distribution}/{quote_key(key, safe='')}"
                f"?Policy={cloudfront_b64(policy)}&Signature={signature}"
                f"&Key-Pair-Id={self.key_pair_id}")

    def verify(self, distribution: str, key: str, params: dict[str, str], now: float) -> None:
        try:
            policy_raw = cloudfront_b64decode(params["Policy"])
            given = params["Signature"]
            statement = json.loads(policy_raw)["Statement"][0]
            resource = statement["Resource"]
            deadline = int(statement["Condition"]["DateLessThan"]["AWS:EpochTime"])
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise Denied("Access denied") from exc
        expected = cloudfront_b64(_hmac(self.secret, policy_raw.decode()))
        if not hmac.compare_digest(expected, given) or resource != self.resource(
                distribution, key):
            raise Denied("Access denied")
        if now >= deadline:
            raise Denied("Access denied", expired=True)


@dataclass(frozen=True, eq=False)  # hashed by identity: its method caches hash it per call
class OssSign:
    """Alibaba OSS v1 query-signature shape (``OSSAccessKeyId``, ``Expires``, ``Signature``)."""

    secret: bytes
    access_key_id: str = "LTAI5tBGMOCK0000MOCK"

    def url(self, base: str, bucket: str, key: str, *, now: float, ttl: int) -> str:
        return self._url(base, bucket, key, int(now), ttl)

    @lru_cache(maxsize=4096)  # noqa: B019 - exact: a URL signed in the same second is the same
    def _url(self, base: str, bucket: str, key: str, now: int, ttl: int) -> str:
        expires = now + ttl
        return (f"{base}/files/oss/{bucket}/{quote_key(key, safe='')}"
                f"?OSSAccessKeyId={self.access_key_id}&Expires={expires}"
                f"&Signature={quote(self._sign(bucket, key, str(expires)), safe='')}")

    def verify(self, bucket: str, key: str, params: dict[str, str], now: float) -> None:
        try:
            expires, given = params["Expires"], params["Signature"]
            deadline = int(expires)
        except (KeyError, ValueError) as exc:
            raise Denied("Access denied") from exc
        if not hmac.compare_digest(self._sign(bucket, key, expires), given):
            raise Denied("The request signature we calculated does not match the signature "
                         "you provided. Check your key and signing method.")
        if now > deadline:
            raise Denied("Request has expired.", expired=True)

    def _sign(self, bucket: str, key: str, expires: str) -> str:
        message = f"GET\n\n\n{expires}\n/{bucket}/{key}".encode()
        return base64.b64encode(hmac.digest(self.secret, message, "sha1")).decode()


def new_secret(seed: int) -> bytes:
    """The mock's signing key: fixed per seed, so URLs are deterministic in virtual time."""
    return hashlib.sha256(f"bgmock-url-signing/{seed}".encode()).digest()


def request_id() -> str:
    return hashlib.sha1(str(time.perf_counter_ns()).encode()).hexdigest()[:16].upper()
