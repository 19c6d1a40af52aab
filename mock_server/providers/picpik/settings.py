"""PICPIK's own settings (D87): ``--config`` / ``BGMOCK_PICPIK_<NAME>`` /
``Settings(picpik_<name>=)`` set them as ``picpik_points``, ``picpik_max_image_bytes`` and
``picpik_url_ttl``. Light on purpose: :mod:`bgmock.server.settings` reads it while it loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bgmock.server.checks import Check, integer

MB = 1000 * 1000


@dataclass(frozen=True)
class PicpikSettings:
    # Points every key starts with (K15); one per image on success.
    points: int = 1000
    # A RawImage over this many decoded bytes -> 230 (K15).
    max_image_bytes: int = 20 * MB
    # ImgList / FinalPictureUrls live this long after the task finished (K8).
    url_ttl: int = 86400

    CHECKS: ClassVar[dict[str, Check]] = {"points": integer(0, 10**9),
                                          "max_image_bytes": integer(1, 1000 * MB),
                                          "url_ttl": integer(1, 7 * 86400)}
