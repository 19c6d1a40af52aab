"""Remote URLs a test has registered (decision D66): chosen bytes, or a chosen failure.

Offline by default, image URLs give synthetic photos; a test that needs a URL to fail or to
return particular bytes registers it here through ``/__admin/remote``. Bounded in count and
bytes; a reset empties it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MiB = 1024 * 1024
MAX_URLS = 256
MAX_BYTES = 64 * MiB
MAX_URL_LENGTH = 2048


class RegistryFull(ValueError):
    pass


@dataclass(frozen=True)
class Registered:
    """Exactly one of: ``data`` (answered with HTTP 200), an error ``status``, a ``failure``."""

    url: str
    data: bytes | None = None
    content_type: str | None = None
    status: int = 200
    failure: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0

    def snapshot(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status, "failure": self.failure,
                "contentType": self.content_type, "size": self.size}


class RemoteUrls:
    def __init__(self, max_urls: int = MAX_URLS, max_bytes: int = MAX_BYTES) -> None:
        self.max_urls, self.max_bytes = max_urls, max_bytes
        self._entries: dict[str, Registered] = {}
        self._bytes = 0

    def put(self, entry: Registered) -> Registered:
        """Register (or replace) ``entry``; :class:`RegistryFull` leaves the registry as it was."""
        old = self._entries.get(entry.url)
        count = len(self._entries) + (old is None)
        size = self._bytes - (old.size if old else 0) + entry.size
        if count > self.max_urls:
            raise RegistryFull(f"at most {self.max_urls} URLs may be registered")
        if size > self.max_bytes:
            raise RegistryFull(f"registered bytes would exceed {self.max_bytes}")
        self._entries[entry.url] = entry
        self._bytes = size
        return entry

    def get(self, url: str) -> Registered | None:
        return self._entries.get(url)

    def remove(self, url: str) -> bool:
        old = self._entries.pop(url, None)
        if old is not None:
            self._bytes -= old.size
        return old is not None

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def snapshot(self) -> dict[str, Any]:
        return {"urls": [e.snapshot() for e in self._entries.values()],
                "count": len(self._entries), "bytes": self._bytes,
                "maxUrls": self.max_urls, "maxBytes": self.max_bytes}
