"""Aidge's own settings (D87): ``--config`` / ``BGMOCK_AIDGE_<NAME>`` / ``Settings(aidge_<name>=)``
set them as ``aidge_max_image_bytes`` and ``aidge_url_ttl``. Light on purpose:
:mod:`bgmock.server.settings` reads it while it loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bgmock.server.checks import Check, integer

MiB = 1024 * 1024


@dataclass(frozen=True)
class AidgeSettings:
    # Encoded input over this -> 705 (A18).
    max_image_bytes: int = 10 * MiB
    # Result URLs live this long: the docs' Expires is request time + 10^9 s (A20, D63).
    url_ttl: int = 10**9

    CHECKS: ClassVar[dict[str, Check]] = {"max_image_bytes": integer(1, 64 * 1024 * MiB),
                                          "url_ttl": integer(1, 10**10)}
