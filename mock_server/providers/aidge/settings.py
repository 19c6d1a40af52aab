"""Aidge's own settings (D87): ``--config`` / ``BGMOCK_AIDGE_<NAME>`` / ``Settings(aidge_<name>=)``
set them as ``aidge_max_image_bytes`` and ``aidge_url_ttl``."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class AidgeSettings:
    # Encoded input over this -> 705 (A18).
    max_image_bytes: int = 10 * MiB
    # Result URLs live this long: the docs' Expires is request time + 10^9 s (A20, D63).
    url_ttl: int = 10**9

    def __post_init__(self) -> None:
        if not 0 <= self.max_image_bytes <= 1024 * MiB:
            raise ValueError("aidge_max_image_bytes must be 0 to 1073741824")
        if not 0 <= self.url_ttl <= 10**10:
            raise ValueError("aidge_url_ttl must be 0 to 10^10 seconds")
