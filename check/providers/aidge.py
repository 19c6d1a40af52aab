"""Aidge's named checks: Image Background Removal (``cut_out``, synchronous: no task to wait
for) through the reference client (:mod:`bgmock.client.aidge`) with both signature styles, the
gateway's and the API's documented refusals, and (on a mock) the rate limit, the quota and an
injected failure. ``cost`` counts the calls Aidge charges (successful cut-outs) live."""

from __future__ import annotations

import asyncio

from bgmock.check.context import Context
from bgmock.check.providers._kit import (
    CHECK_KEY,
    CHECK_SECRET,
    check,
    check_account,
    fault_rule,
    has_transparency,
    image_info,
)
from bgmock.client.aidge import AidgeError, AidgeGatewayError, AsyncAidgeClient, CutOutResult

P = "aidge"
OP = "cut_out"
# The docs' request (aidge-python's ImageBackgroundRemovalHttpExample).
DOCS_IMAGE = "https://ae01.alicdn.com/kf/Sa78257f1d9a34dad8ee494178db12ec8l.jpg"
TIMESTAMP_WINDOW = 7200  # seconds a timestamp may be off the gateway's clock (A-sheet)


def _client(ctx: Context, **kw: object) -> AsyncAidgeClient:
    return ctx.client(AsyncAidgeClient, **kw)


def _own_account(ctx: Context) -> AsyncAidgeClient:
    return _client(ctx, app_key=CHECK_KEY, secret=CHECK_SECRET)


async def _photo_cut_out(ctx: Context, aidge: AsyncAidgeClient) -> CutOutResult:
    return await aidge.remove_background(image_base64=ctx.image((320, 240)),
                                         background="TRANSPARENT")


# --- happy paths -------------------------------------------------------------------------


@check(P, OP, name="aidge.cut_out.docs_example", cost=1)
async def docs_example(ctx: Context) -> None:
    """The docs' request: their image URL on white at 800x1000: a JPEG of exactly that size."""
    aidge = _client(ctx)
    ctx.spend()
    result = await aidge.remove_background(image_url=DOCS_IMAGE, background="WHITE_BACKGROUND",
                                           target_width=800, target_height=1000)
    ctx.expect((result.width, result.height), (800, 1000), "the result's size")
    ctx.expect(result.usage, 1, "usage")
    fmt, size, _mode = image_info(await aidge.download(result.image_url))
    ctx.expect((fmt, size), ("JPEG", (800, 1000)), "the downloaded result")


@check(P, OP, name="aidge.cut_out.transparent", cost=1)
async def transparent(ctx: Context) -> None:
    """A photo sent as base64, ``TRANSPARENT``: a PNG with transparency at the size the answer
    names, a score in [0, 1]."""
    aidge = _client(ctx)
    ctx.spend()
    result = await _photo_cut_out(ctx, aidge)
    ctx.expect_true(0 <= result.score <= 1, "score in [0, 1]", result.score)
    data = await aidge.download(result.image_url)
    fmt, size, _mode = image_info(data)
    ctx.expect((fmt, size), ("PNG", (result.width, result.height)), "the downloaded result")
    ctx.expect_true(has_transparency(data), "the cut-out has transparent pixels")


@check(P, OP, name="aidge.cut_out.iop_signature", cost=1)
async def iop_signature(ctx: Context) -> None:
    """The classic IOP signature (form body, every parameter signed) is accepted too."""
    aidge = _client(ctx, sign_style="iop")
    ctx.spend()
    result = await aidge.remove_background(image_url=DOCS_IMAGE, background="TRANSPARENT",
                                           target_width=400, target_height=400)
    ctx.expect((result.width, result.height), (400, 400), "the result's size")


# --- errors a request can provoke --------------------------------------------------------


@check(P, OP, name="aidge.auth.bad_signature")
async def bad_signature(ctx: Context) -> None:
    """Signed with another secret: the gateway's ``IncompleteSignature``."""
    aidge = _client(ctx, secret="bgmock-check-not-the-secret")
    await ctx.expect_error(aidge.remove_background(image_url=DOCS_IMAGE), AidgeGatewayError,
                           "a wrong signature", code="IncompleteSignature")


@check(P, OP, name="aidge.auth.unknown_key")
async def unknown_key(ctx: Context) -> None:
    """An app key the gateway does not know: ``InvalidAppKey``."""
    aidge = _client(ctx, app_key="bgmock-check-unknown-key")
    await ctx.expect_error(aidge.remove_background(image_url=DOCS_IMAGE), AidgeGatewayError,
                           "an unknown app key", code="InvalidAppKey")


@check(P, OP, name="aidge.auth.stale_timestamp")
async def stale_timestamp(ctx: Context) -> None:
    """A timestamp three hours old (the window is 7200 s): ``IllegalTimestamp``."""
    aidge = _client(ctx, clock=lambda: ctx.clock() - TIMESTAMP_WINDOW - 3600)
    await ctx.expect_error(aidge.remove_background(image_url=DOCS_IMAGE), AidgeGatewayError,
                           "a stale timestamp", code="IllegalTimestamp")


@check(P, OP, name="aidge.cut_out.missing_field")
async def missing_field(ctx: Context) -> None:
    """No ``backGroundType``: the business error 700 (invalid input)."""
    await ctx.expect_error(_client(ctx).remove_background(image_url=DOCS_IMAGE, background=""),
                           AidgeError, "an empty backGroundType", res_code=700)


@check(P, OP, name="aidge.cut_out.not_an_image")
async def not_an_image(ctx: Context) -> None:
    """Base64 of bytes that are no image: 704."""
    await ctx.expect_error(
        _client(ctx).remove_background(image_base64=b"bgmock check: not an image"),
        AidgeError, "bytes that are no image", res_code=704)


# --- mock only: limits and faults -----------------------------------------------------------


@check(P, OP, name="aidge.cut_out.rate_limit", mock_only=True)
async def rate_limit(ctx: Context) -> None:
    """An account allowed one call a second, three calls at once: the others get 501 "rate
    limit exceed", at least one gets through."""
    ctx.require_mock("needs the admin API (rate limits)")
    await check_account(ctx, extra={"quota": 1000, "trial_quota": 0, "qps": 1, "burst": 50})
    aidge = _own_account(ctx)
    outcomes = await asyncio.gather(*(_photo_cut_out(ctx, aidge) for _ in range(3)),
                                    return_exceptions=True)
    codes = sorted(str(getattr(o, "res_code", o)) if isinstance(o, Exception) else "ok"
                   for o in outcomes)
    ctx.expect_true("ok" in codes and "501" in codes and set(codes) <= {"ok", "501"},
                    "three calls at once with qps 1: some succeed, the rest are 501", codes)


@check(P, OP, name="aidge.cut_out.no_quota", mock_only=True)
async def no_quota(ctx: Context) -> None:
    """An account with no calls left: the gateway's ``NoResource``."""
    ctx.require_mock("needs the admin API (quota)")
    await check_account(ctx, extra={"quota": 0, "trial_quota": 0, "qps": None, "burst": None})
    await ctx.expect_error(_photo_cut_out(ctx, _own_account(ctx)), AidgeGatewayError,
                           "a call without quota", code="NoResource")


@check(P, OP, name="aidge.cut_out.server_error", mock_only=True)
async def server_error(ctx: Context) -> None:
    """A failure of Aidge's own (rule ``error=500``): the business error 500, then normal
    again."""
    ctx.require_mock("needs fault rules")
    aidge = _client(ctx)
    async with fault_rule(ctx, "error=500", OP, key=ctx.credentials()["app_key"]):
        await ctx.expect_error(_photo_cut_out(ctx, aidge), AidgeError, "an injected failure",
                               res_code=500)
    ctx.expect((await _photo_cut_out(ctx, aidge)).usage, 1, "the next call's usage")
