"""The images a replace-product-image task made, by ``imageId``: what image2Video reads (D132).

A record goes with its task's retention (7 days, T17), as its file does; the docs' fixtures are
kept for ever.
"""

from __future__ import annotations

from dataclasses import dataclass

from bgmock.server.core.engine import Engine
from bgmock.server.core.timeline import Retention


@dataclass(frozen=True, slots=True)
class ReplacedImage:
    """One result of a replace-product-image task."""

    image_id: str
    owner: str
    face_existence: bool
    bucket: str
    key: str


class ImageBook:
    """``imageId`` -> :class:`ReplacedImage`, each dropped when its lifetime ends."""

    def __init__(self) -> None:
        self._images: dict[str, ReplacedImage] = {}

    def add(self, engine: Engine, image: ReplacedImage, keep: Retention | None) -> None:
        self._images[image.image_id] = image
        if keep is not None:
            engine.timeline.at(keep.until(engine.clock.now()), self._drop, image)

    def _drop(self, image: ReplacedImage) -> None:
        if self._images.get(image.image_id) is image:
            del self._images[image.image_id]

    def owned(self, image_id: str, owner: str) -> ReplacedImage | None:
        image = self._images.get(image_id)
        return image if image is not None and image.owner == owner else None

    def __len__(self) -> int:
        return len(self._images)
