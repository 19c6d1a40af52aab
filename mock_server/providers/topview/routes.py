"""Topview over HTTP: how requests authenticate, how violations and errors look."""

from __future__ import annotations

from typing import Any

from bgmock.server.core.accounts import Account
from bgmock.server.core.endpoints import Call, Incoming, ProviderApp, SpecBase
from bgmock.server.core.engine import Engine
from bgmock.server.providers.topview import (
    avatars,
    image_to_video,
    lookups,
    product_avatar,
    product_background,
    service,
)
from bgmock.server.providers.topview.errors import MESSAGES, TopviewError, success
from starlette.responses import Response

# T3: missing -> 4003, wrong type or format -> 4001, bad value -> 4000.
MISSING = {"required"}
FORMAT = {"type", "pattern", "format"}


class TopviewSpec(SpecBase):
    name = service.PROVIDER
    max_body_bytes = 1024 * 1024  # no Topview body carries image bytes (uploads go to S3)

    def key_of(self, incoming: Incoming) -> str | None:
        return incoming.headers.get("topview-uid")

    def authenticate(self, incoming: Incoming, engine: Engine) -> Account:
        scheme, _, token = incoming.headers.get("authorization", "").strip().partition(" ")
        secret = token.strip() if scheme.lower() == "bearer" else None
        account = engine.accounts.authenticate(self.name, self.key_of(incoming), secret)
        if account is None:
            raise TopviewError("401")  # T2
        return account

    def violation(self, incoming: Incoming, problems: list[Any]) -> TopviewError:
        def code(problem: Any) -> str:
            if problem.validator in MISSING or problem.instance is None or problem.instance == "":
                return "4003"
            return "4001" if problem.validator in FORMAT else "4000"
        codes = {code(p) for p in problems}
        return TopviewError(next(c for c in ("4003", "4001", "4000") if c in codes))

    def malformed(self, incoming: Incoming) -> TopviewError:
        return TopviewError("4001")

    def injected(self, incoming: Incoming, code: str) -> TopviewError:
        if code not in MESSAGES:
            raise KeyError(code)
        return TopviewError(code)

    def internal_error(self, incoming: Incoming) -> TopviewError:
        return TopviewError("5000")

    def not_found(self, known_path: bool, path: str) -> TopviewError:
        return TopviewError("405" if known_path else "404")

    def render(self, call: Call, result: Any) -> Response:
        return success(result)


def app(engine: Engine) -> ProviderApp:
    return ProviderApp(TopviewSpec(), engine, {
        "upload_credential": service.upload_credential,
        "upload_check": service.upload_check,
        "remove_background_submit": service.remove_background_submit,
        "remove_background_query": service.remove_background_query,
        "credit_detail": service.credit_detail,
        "notice_url_check": service.notice_url_check,
        # product avatar: replace, image2Video, avatar lookups
        "replace_product_image_submit": product_avatar.replace_submit,
        "replace_product_image_query": product_avatar.replace_query,
        "image_to_video_submit": image_to_video.image_to_video_submit,
        "image_to_video_query": image_to_video.image_to_video_query,
        "public_avatar_query": avatars.public_avatar_query,
        "avatar_category_list": avatars.avatar_category_list,
        # product background and the voice/caption lookups
        "product_background_submit": product_background.submit,
        "product_background_query": product_background.query,
        "voice_query": lookups.voice_query,
        "caption_list": lookups.caption_list,
    })
