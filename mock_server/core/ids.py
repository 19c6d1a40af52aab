"""Identifiers: reproducible under a seed, fresh per start and reset without one (decision D61).

With a seed, every start and every reset begins the same sequence anew, so a seeded test run
gives the same ids each time. Without one, each instance draws its own random salt, so a
database kept across runs or resets never meets an id twice.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets


class Ids:
    def __init__(self, seed: int | None = None) -> None:
        self._seed = str(seed) if seed is not None else f"salt:{secrets.token_hex(16)}"
        self._counter = itertools.count(1)

    def hex(self, namespace: str, length: int = 32) -> str:
        digest = hashlib.sha256(f"{self._seed}/{namespace}/{next(self._counter)}".encode())
        return digest.hexdigest()[:length]

    def digits(self, namespace: str, length: int) -> str:
        number = int(self.hex(namespace, 40), 16)
        return str(number)[-length:].rjust(length, "0")
