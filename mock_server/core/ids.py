"""Deterministic identifiers: the same seed and the same sequence of calls give the same ids."""

from __future__ import annotations

import hashlib
import itertools


class Ids:
    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._counter = itertools.count(1)

    def hex(self, namespace: str, length: int = 32) -> str:
        digest = hashlib.sha256(f"{self._seed}/{namespace}/{next(self._counter)}".encode())
        return digest.hexdigest()[:length]

    def digits(self, namespace: str, length: int) -> str:
        number = int(self.hex(namespace, 40), 16)
        return str(number)[-length:].rjust(length, "0")
