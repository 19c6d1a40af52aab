"""Topview's named checks: every operation's happy path through the reference client
(:mod:`bgmock.client.topview`), tasks to a terminal state, the documented errors a request can
provoke, and (on a mock) the fault-injected paths. ``cost`` counts the paid submits live."""

from __future__ import annotations

from typing import Any

from bgmock.check.context import Context
from bgmock.check.providers._kit import (
    CHECK_KEY,
    CHECK_SECRET,
    DEAD_RECEIVER,
    check,
    check_account,
    expect_retried,
    fault_rule,
    has_transparency,
    image_info,
)
from bgmock.client.topview import (
    AsyncTopviewClient,
    TopviewError,
    TopviewTaskFailed,
    TopviewTimeout,
)

P = "topview"
# The docs' finished remove-background task and the size of its cut-out (T31).
DOCS_TASK = "56eac11a862143989e9cc63f8b213a2d"
DOCS_CUTOUT_SIZE = (528, 720)
UNKNOWN_ID = "0" * 32
HANDS = [[0.3, 0.55], [0.7, 0.55], [0.7, 0.9], [0.3, 0.9]]   # clockwise, inside the canvas
DOCS_VOICE = "zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t"


def _client(ctx: Context, **kw: Any) -> AsyncTopviewClient:
    return ctx.client(AsyncTopviewClient, **kw)


def _own_account(ctx: Context) -> AsyncTopviewClient:
    """A client of the check's own account (see ``_kit``)."""
    return _client(ctx, uid=CHECK_KEY, api_key=CHECK_SECRET)


async def _wait(ctx: Context, tv: AsyncTopviewClient, task_id: str,
                kind: str = "remove_background", timeout: float = 600) -> dict[str, Any]:
    return await tv.wait(task_id, timeout=timeout, interval=3, max_interval=15,
                         sleep=ctx.sleep, kind=kind)


async def _cutout(ctx: Context, tv: AsyncTopviewClient) -> dict[str, Any]:
    """Upload the check's photo and remove its background: the finished query result."""
    file_id = await tv.upload(ctx.image((400, 300)), format="png")
    return await _wait(ctx, tv, await tv.remove_background(file_id))


def _auth(ctx: Context) -> dict[str, str]:
    creds = ctx.credentials()
    return {"Topview-Uid": creds["uid"], "Authorization": f"Bearer {creds['api_key']}"}


async def _raw(ctx: Context, method: str, path: str, **kw: Any) -> dict[str, Any]:
    """A request no reference client makes (a wrong type, an unknown id), its JSON answer."""
    response = await ctx.http.request(method, path, headers=_auth(ctx), **kw)
    body = response.json()
    ctx.expect_true(isinstance(body, dict), f"{method} {path} answers an envelope", body)
    return body


# --- happy paths -------------------------------------------------------------------------


@check(P, "credit_detail", name="topview.credit_detail.happy")
async def credit_detail(ctx: Context) -> None:
    """The account's credits: a number, not negative."""
    credit = await _client(ctx).credit()
    ctx.expect_true(credit >= 0, "remainCredit >= 0", credit)


@check(P, "upload_credential", name="topview.upload.happy")
async def upload(ctx: Context) -> None:
    """Upload credential, the presigned PUT, then upload check answers true."""
    file_id = await _client(ctx).upload(ctx.image((320, 240)), format="png")
    ctx.expect_true(len(file_id) == 32, "a 32-character fileId", file_id)


@check(P, "remove_background_submit", name="topview.remove_background.lifecycle", cost=1)
async def remove_background(ctx: Context) -> None:
    """Upload, submit, query (not yet finished), wait until success, download a PNG cut-out
    with transparency at the size the query names and a mask."""
    tv = _client(ctx)
    file_id = await tv.upload(ctx.image((400, 300)), format="png")
    ctx.spend()
    task_id = await tv.remove_background(file_id)
    first = await tv.query_remove_background(task_id)
    ctx.expect_in(first["status"], ("init", "running", "success"), "status right after submit")
    result = await _wait(ctx, tv, task_id)
    ctx.expect(result["status"], "success", "terminal status")
    cutout = await tv.download(result["bgRemovedImagePath"])
    fmt, size, _mode = image_info(cutout)
    ctx.expect(fmt, "PNG", "cut-out format")
    ctx.expect(size, (result["bgRemovedImageWidth"], result["bgRemovedImageHeight"]),
               "cut-out size as the query says")
    ctx.expect_true(has_transparency(cutout), "the cut-out has transparent pixels")
    ctx.expect(image_info(await tv.download(result["maskImagePath"]))[0], "PNG", "mask format")


@check(P, "remove_background_query", name="topview.remove_background_query.docs_example",
       mock_only=True)
async def docs_task(ctx: Context) -> None:
    """The docs' query example: their finished task, CloudFront URLs, a 528x720 cut-out."""
    ctx.require_mock("the docs' task ids exist only on a mock")
    tv = _client(ctx)
    result = await tv.query_remove_background(DOCS_TASK, cloudfront=True)
    ctx.expect(result["status"], "success", "the docs' task status")
    ctx.expect((result["bgRemovedImageWidth"], result["bgRemovedImageHeight"]),
               DOCS_CUTOUT_SIZE, "the docs' cut-out size")
    ctx.expect_true("Key-Pair-Id=" in result["bgRemovedImagePath"],
                    "needCloudFrontUrl=true gives a CloudFront-style URL",
                    result["bgRemovedImagePath"])
    ctx.expect(image_info(await tv.download(result["bgRemovedImagePath"]))[1],
               DOCS_CUTOUT_SIZE, "the downloaded cut-out's size")


@check(P, "product_background_submit", name="topview.product_background.lifecycle", cost=2)
async def product_background(ctx: Context) -> None:
    """A cut-out on a prompt scene at 16:9: one 1024x576 PNG in ``anyfitImages``."""
    tv = _client(ctx)
    ctx.spend(2)
    cut = await _cutout(ctx, tv)
    task_id = await tv.product_background(
        cut["bgRemovedImageFileId"], mode="prompt", prompt="a sunny kitchen counter",
        aspect_ratio="16:9", location=[[0.4, 0.2], [0.6, 0.2], [0.6, 0.9], [0.4, 0.9]])
    result = await _wait(ctx, tv, task_id, kind="product_background")
    images = result["anyfitImages"]
    ctx.expect(len(images), 1, "composites")
    fmt, size, _mode = image_info(await tv.download(images[0]["url"]))
    ctx.expect((fmt, size), ("PNG", (1024, 576)), "the composite (1024 px long side, 16:9)")


async def _replaced(ctx: Context, tv: AsyncTopviewClient) -> list[dict[str, Any]]:
    cut = await _cutout(ctx, tv)
    avatars = (await tv.public_avatars(page_size=1))["data"]
    ctx.expect_true(avatars, "at least one public avatar")
    task_id = await tv.replace_product_image(cut["bgRemovedImageFileId"], mode="manual",
                                             avatar_id=avatars[0]["avatarId"], location=HANDS)
    result = await _wait(ctx, tv, task_id, kind="replace_product_image")
    return list(result["replaceProductResult"])


@check(P, "replace_product_image_submit", name="topview.replace_product_image.lifecycle",
       cost=2)
async def replace_product_image(ctx: Context) -> None:
    """The cut-out into the first public avatar's hands (manual): two images, one with a
    face and one without."""
    tv = _client(ctx)
    ctx.spend(2)
    images = await _replaced(ctx, tv)
    ctx.expect(sorted(bool(i["faceExistence"]) for i in images), [False, True],
               "manual mode's results (faceExistence)")
    for image in images:
        ctx.expect_in(image_info(await tv.download(image["url"]))[0], ("PNG", "JPEG", "WEBP"),
                      "each result's image format")


@check(P, "image_to_video_submit", name="topview.image_to_video.lifecycle", cost=3)
async def image_to_video(ctx: Context) -> None:
    """A replace result with a face, then a lite video with the docs' voice: an MP4."""
    tv = _client(ctx)
    ctx.spend(3)
    images = await _replaced(ctx, tv)
    face = next((i for i in images if i["faceExistence"]), images[0])
    task_id = await tv.image_to_video(face["imageId"], mode="lite", tts_text="Meet the box.",
                                      voice_id=DOCS_VOICE)
    result = await _wait(ctx, tv, task_id, kind="image_to_video", timeout=1800)
    video = await tv.download(result["finishedVideoUrl"])
    ctx.expect(video[4:8], b"ftyp", "the finished video is an MP4 (ftyp box)")


@check(P, "public_avatar_query", name="topview.public_avatar_query.happy")
async def public_avatars(ctx: Context) -> None:
    """One page of two product-avatar templates."""
    page = await _client(ctx).public_avatars(page_size=2)
    ctx.expect(int(page["pageNo"]), 1, "pageNo")
    ctx.expect_true(1 <= len(page["data"]) <= 2, "1..2 avatars on a page of 2", page["data"])


@check(P, "avatar_category_list", name="topview.avatar_category_list.happy")
async def avatar_categories(ctx: Context) -> None:
    """The avatar categories: a non-empty list of ``{categoryId, categoryName}``."""
    categories = await _client(ctx).avatar_categories()
    ctx.expect_true(categories and all("categoryId" in c for c in categories),
                    "categories with ids", categories)


@check(P, "voice_query", name="topview.voice_query.happy")
async def voices(ctx: Context) -> None:
    """A page of five voices."""
    page = await _client(ctx).voices(pageNo=1, pageSize=5)
    ctx.expect_true(1 <= len(page["data"]) <= 5, "1..5 voices on a page of 5", page["data"])


@check(P, "caption_list", name="topview.caption_list.happy")
async def captions(ctx: Context) -> None:
    """The caption styles: a non-empty list with ids and thumbnails."""
    styles = await _client(ctx).captions()
    ctx.expect_true(styles and all(s.get("captionId") for s in styles), "caption styles",
                    styles)


@check(P, "notice_url_check", name="topview.notice_url_check.happy")
async def notice_url(ctx: Context) -> None:
    """An https callback URL is usable."""
    ok = await _client(ctx).check_notice_url("https://example.com/topview-callback")
    ctx.expect(ok, True, "notice_url/check of an https URL")


# --- errors a request can provoke --------------------------------------------------------


@check(P, "credit_detail", name="topview.auth.bad_key")
async def bad_key(ctx: Context) -> None:
    """A wrong bearer key: 401 "Unauthorized" in the envelope."""
    tv = _client(ctx, api_key="sk-bgmock-check-wrong-key")
    await ctx.expect_error(tv.credit(), TopviewError, "a wrong API key", code="401")


@check(P, "notice_url_check", name="topview.notice_url_check.bad_url")
async def bad_notice_url(ctx: Context) -> None:
    """A callback URL that is not http(s): 4000."""
    await ctx.expect_error(_client(ctx).check_notice_url("ftp://example.com/hook"),
                           TopviewError, "an ftp callback URL", code="4000")


@check(P, "remove_background_submit", name="topview.remove_background_submit.missing_field")
async def missing_field(ctx: Context) -> None:
    """An empty ``productImageFileId``: 4003 (required parameter)."""
    await ctx.expect_error(_client(ctx).remove_background(""), TopviewError,
                           "an empty productImageFileId", code="4003")


@check(P, "remove_background_submit", name="topview.remove_background_submit.wrong_type")
async def wrong_type(ctx: Context) -> None:
    """``productImageFileId`` a number: 4001 (data format)."""
    body = await _raw(ctx, "POST", "/v1/common_task/remove_background/submit",
                      json={"productImageFileId": 42})
    ctx.expect(body.get("code"), "4001", "code for a number where a string belongs")


@check(P, "remove_background_query", name="topview.remove_background_query.unknown_id")
async def unknown_task(ctx: Context) -> None:
    """A task id that does not exist: 4004."""
    await ctx.expect_error(_client(ctx).query_remove_background(UNKNOWN_ID), TopviewError,
                           "an unknown taskId", code="4004")


@check(P, "upload_check", name="topview.upload_check.unknown_id")
async def unknown_file(ctx: Context) -> None:
    """Upload check of a file id that does not exist: 4004."""
    body = await _raw(ctx, "GET", "/v1/upload/check", params={"fileId": UNKNOWN_ID})
    ctx.expect(body.get("code"), "4004", "code for an unknown fileId")


# --- fault-injected paths (a mock only) ---------------------------------------------------


@check(P, "remove_background_submit", name="topview.remove_background.failed", mock_only=True)
async def failed(ctx: Context) -> None:
    """A task the mock fails: ``status`` fail with its ``errorMsg``; the client raises."""
    ctx.require_mock("needs fault rules")
    tv = _client(ctx)
    file_id = await tv.upload(ctx.image((320, 240)), format="png")
    uid = ctx.credentials()["uid"]
    async with fault_rule(ctx, "fail=bgmock check failure", "remove_background_submit",
                          key=uid):
        task_id = await tv.remove_background(file_id)
    exc = await ctx.expect_error(_wait(ctx, tv, task_id), TopviewTaskFailed,
                                 "waiting on a failed task", code="fail")
    ctx.expect(exc.result.get("status"), "fail", "the failed task's status")
    ctx.expect(exc.result.get("errorMsg"), "bgmock check failure", "the failed task's errorMsg")


@check(P, "remove_background_submit", name="topview.remove_background.stuck", mock_only=True)
async def stuck(ctx: Context) -> None:
    """A task that never leaves ``running``: waiting runs out of time, the status stays."""
    ctx.require_mock("needs fault rules")
    await check_account(ctx, credits=1000, concurrency=10_000)
    tv = _own_account(ctx)
    file_id = await tv.upload(ctx.image((320, 240)), format="png")
    async with fault_rule(ctx, "stuck", "remove_background_submit", key=CHECK_KEY):
        task_id = await tv.remove_background(file_id)
    exc = await ctx.expect_error(_wait(ctx, tv, task_id, timeout=120), TopviewTimeout,
                                 "waiting on a stuck task", status="running")
    ctx.expect_true(exc.elapsed >= 120, "the wait used its whole budget", exc.elapsed)


@check(P, "remove_background_submit", name="topview.remove_background_submit.busy",
       mock_only=True)
async def busy(ctx: Context) -> None:
    """An overloaded service (rule ``error=5003``): the envelope's 5003, then normal again."""
    ctx.require_mock("needs fault rules")
    tv = _client(ctx)
    async with fault_rule(ctx, "error=5003", "remove_background_submit",
                          key=ctx.credentials()["uid"]):
        await ctx.expect_error(tv.remove_background(DOCS_TASK), TopviewError,
                               "a submit while the service is busy", code="5003")


@check(P, "remove_background_submit", name="topview.remove_background_submit.unfinished_limit",
       mock_only=True)
async def unfinished_limit(ctx: Context) -> None:
    """An account whose unfinished-task limit is reached: 4007."""
    ctx.require_mock("needs the admin API (account limits)")
    await check_account(ctx, credits=1000, concurrency=0)
    tv = _own_account(ctx)
    file_id = await tv.upload(ctx.image((320, 240)), format="png")
    await ctx.expect_error(tv.remove_background(file_id), TopviewError,
                           "a submit past the unfinished-task limit", code="4007")


@check(P, "remove_background_submit", name="topview.remove_background_submit.no_credit",
       mock_only=True)
async def no_credit(ctx: Context) -> None:
    """An account without credits: 4100."""
    ctx.require_mock("needs the admin API (credits)")
    await check_account(ctx, credits=0, concurrency=8)
    tv = _own_account(ctx)
    file_id = await tv.upload(ctx.image((320, 240)), format="png")
    await ctx.expect_error(tv.remove_background(file_id), TopviewError,
                           "a submit without credits", code="4100")


@check(P, "remove_background_submit", name="topview.remove_background.webhook_retry",
       mock_only=True)
async def webhook_retry(ctx: Context) -> None:
    """A submit with ``noticeUrl`` and the ``webhook=fail`` fault: the callback's first
    attempt fails and it is retried on the mock clock."""
    ctx.require_mock("needs fault rules and the webhook journal")
    tv = _client(ctx)
    file_id = await tv.upload(ctx.image((320, 240)), format="png")
    async with fault_rule(ctx, "webhook=fail", "remove_background_submit",
                          key=ctx.credentials()["uid"]):
        task_id = await tv.remove_background(file_id, notice_url=DEAD_RECEIVER)
    await ctx.sleep(6)  # init 1 s + running 4 s: the task ends, the callback goes out
    ctx.expect((await tv.query_remove_background(task_id))["status"], "success",
               "the task's status 6 s later")
    await expect_retried(ctx, task_id)
