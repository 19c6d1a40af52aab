"""Product-avatar lookups: the public avatars (filters, paging) and their categories (T27, D136).

Deterministic fixtures: the same ids, order and images on every fresh mock. Each avatar has a
real image behind its ``avatarImagePath`` (a synthetic person on a plain backdrop, made on first
download), which replace-product-image uses as its template when given the ``avatarId``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from bgmock.server.core import imaging
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.providers.topview import service
from bgmock.server.providers.topview.errors import TopviewError
from PIL import Image, ImageDraw

CATEGORIES = (("1", "Beauty"), ("2", "Fashion"), ("3", "Electronics"), ("4", "Food & Drink"),
              ("5", "Home"), ("6", "Sports"))
ETHNICITIES = (("1", "Caucasian"), ("2", "African"), ("3", "East Asian"), ("4", "South Asian"),
               ("5", "Hispanic"), ("6", "Middle Eastern"))
DOCS_VOICE = "zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t"   # provider-docs/001: the avatar's voiceover
AVATAR_COUNT = 24
WIDTH, HEIGHT = 720, 1280                      # portrait, as Topview's avatars are
HAND = ((0.3, 0.55), (0.7, 0.55), (0.7, 0.9), (0.3, 0.9))  # where the product goes
PAGE_SIZE, MAX_PAGE_SIZE, MAX_PAGE_NO = 20, 100, 100_000


@dataclass(frozen=True)
class Avatar:
    avatar_id: str
    gender: str
    categories: tuple[str, ...]
    ethnicity: str
    voiceover_id: str
    popularity: int
    created: int

    @property
    def key(self) -> str:
        return f"product_avatar/public_avatar/{self.avatar_id}.png"


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _avatar(index: int) -> Avatar:
    digest = hashlib.sha256(f"bgmock-avatar-{index}".encode()).digest()
    categories = sorted({CATEGORIES[index % 6][0], CATEGORIES[digest[0] % 6][0]})
    return Avatar(
        avatar_id=_hex(f"bgmock-avatar-{index}"),
        gender="female" if index % 2 == 0 else "male",
        categories=tuple(categories),
        ethnicity=ETHNICITIES[digest[1] % 6][0],
        voiceover_id=DOCS_VOICE if index == 0 else _hex(f"bgmock-voice-{index}"),
        popularity=int.from_bytes(digest[2:4], "big"),
        created=index)


AVATARS = tuple(_avatar(i) for i in range(AVATAR_COUNT))
BY_ID = {avatar.avatar_id: avatar for avatar in AVATARS}


@cache
def avatar_png(avatar_id: str) -> bytes:
    """A repeatable portrait: a figure (head, shoulders, arms) on a plain light backdrop."""
    digest = hashlib.sha256(avatar_id.encode()).digest()
    backdrop = tuple(200 + d % 50 for d in digest[0:3])
    skin = (150 + digest[3] % 90, 110 + digest[4] % 80, 90 + digest[5] % 60)
    shirt = tuple(30 + d % 150 for d in digest[6:9])
    img = Image.new("RGB", (WIDTH, HEIGHT), backdrop)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(img)
    cx = WIDTH // 2
    draw.ellipse((cx - 110, 150, cx + 110, 420), fill=skin)                # head
    draw.rectangle((cx - 45, 400, cx + 45, 480), fill=skin)                # neck
    draw.rounded_rectangle((cx - 230, 460, cx + 230, HEIGHT), 80, fill=shirt)  # body
    draw.rounded_rectangle((cx - 200, 700, cx + 200, 800), 40, fill=skin)  # forearms
    return imaging.encode(img, "png")


def seed(engine: Engine) -> None:
    """The avatars' images: pinned, made on first read."""
    for avatar in AVATARS:
        engine.files.put_lazy(service.RESULT_BUCKET, avatar.key,
                              partial(avatar_png, avatar.avatar_id), "image/png")


def _ids(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def _number(params: dict[str, Any], name: str, default: int, top: int) -> int:
    raw = params.get(name) or ""
    if raw == "":
        return default
    value = int(raw)  # the contract admits digits only
    if not 1 <= value <= top:
        raise TopviewError("4000")
    return value


def _render(call: Call, avatar: Avatar) -> dict[str, Any]:
    names = dict(CATEGORIES)
    mask_info = {"width": WIDTH, "height": HEIGHT, "location": [list(p) for p in HAND]}
    return {
        "avatarId": avatar.avatar_id,
        "avatarImagePath": service.result_url(call, avatar.key, cloudfront=False),
        "voiceoverId": avatar.voiceover_id,
        "gender": avatar.gender,
        "avatarCategoryList": [{"categoryId": c, "categoryName": names[c]}
                               for c in avatar.categories],
        "objectMaskImageInfo": json.dumps(mask_info, separators=(",", ":")),
        "avatarEthnicityList": [{"ethnicityId": avatar.ethnicity,
                                 "ethnicityName": dict(ETHNICITIES)[avatar.ethnicity]}],
        "minSubsType": "free",
    }


async def public_avatar_query(call: Call) -> dict[str, Any]:
    params = call.params
    page_no = _number(params, "pageNo", 1, MAX_PAGE_NO)
    page_size = _number(params, "pageSize", PAGE_SIZE, MAX_PAGE_SIZE)
    gender = params.get("gender") or ""
    categories, ethnicities = _ids(params.get("categoryIds", "")), _ids(
        params.get("ethnicityIds", ""))
    found = [a for a in AVATARS
             if (not gender or a.gender == gender)
             and (not categories or categories & set(a.categories))
             and (not ethnicities or a.ethnicity in ethnicities)]
    if params.get("sortingType") == "Newest":
        found.sort(key=lambda a: -a.created)
    else:  # Popularity, the default
        found.sort(key=lambda a: -a.popularity)
    page = found[(page_no - 1) * page_size: page_no * page_size]
    return {"total": len(found), "pageNo": page_no, "pageSize": page_size,
            "data": [_render(call, a) for a in page]}


async def avatar_category_list(call: Call) -> list[dict[str, str]]:
    return [{"categoryId": c, "categoryName": name} for c, name in CATEGORIES]
