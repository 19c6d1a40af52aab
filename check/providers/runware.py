"""Runware's named checks: the REST task API through the reference client
(:mod:`bgmock.client.runware`, REST only): upload, removal (current and legacy task, sync and
async to ``success``), ``ping`` and the leading ``authentication`` task, the documented errors
a request can provoke, and (on a mock) a failed and a stuck task, the rate limit, credits and a
webhook retried. The WebSocket check drives Runware's official SDK when it is installed
(``runware`` 0.5.x) against a target with a socket (a URL or live), else it is skipped.
``cost`` counts the removals Runware charges live (uploads, pings and errors are free)."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bgmock.check.context import Context
from bgmock.check.model import Skipped
from bgmock.check.providers._kit import (
    CHECK_KEY,
    DEAD_RECEIVER,
    check,
    check_account,
    expect_retried,
    fault_rule,
    has_transparency,
    image_info,
)
from bgmock.client.runware import (
    AsyncRunwareClient,
    RunwareError,
    RunwareTimeout,
    TaskResult,
)

from bgmock import contracts

P = "runware"
# The docs' image UUID, on a fresh mock: only mock-only checks use it (D232).
DOCS_IMAGE = "fd613011-3ba6-4a4c-9d1e-1e6e9b2d5c11"
ASYNC_SECONDS = 2.0                                  # an async removal's processing time (D194)


def _client(ctx: Context, **kw: Any) -> AsyncRunwareClient:
    return ctx.client(AsyncRunwareClient, **kw)


def _own_account(ctx: Context) -> AsyncRunwareClient:
    return _client(ctx, api_key=CHECK_KEY)


def _new_uuid() -> str:
    return str(uuid.uuid4())


async def _post(ctx: Context, tasks: Any, *, key: str | None = "") -> tuple[int, dict[str, Any]]:
    """A task array as it is, with the bearer key (``key=None``: none); status and body."""
    key = ctx.credentials()["api_key"] if key == "" else key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await ctx.http.post(ctx.base_url(), json=tasks, headers=headers)
    body = response.json()
    ctx.expect_true(isinstance(body, dict), "Runware answers a JSON object", body)
    return response.status_code, body


def _first_error(ctx: Context, status: int, body: dict[str, Any]) -> tuple[int, str | None]:
    errors = body.get("errors") or []
    ctx.expect_true(errors, "the answer has an errors item", body)
    return status, errors[0].get("code")


async def _wait(ctx: Context, runware: AsyncRunwareClient, task_uuid: str,
                timeout: float = 600) -> TaskResult:
    return await runware.wait(task_uuid, timeout=timeout, interval=1, max_interval=10,
                              sleep=ctx.sleep)


async def _expect_png_cutout(ctx: Context, runware: AsyncRunwareClient,
                             result: TaskResult) -> None:
    ctx.expect(result.status, "success", "the removal's status")
    ctx.expect_true(result.image_url, "the result has an imageURL", result.raw)
    data = await runware.download(str(result.image_url))
    ctx.expect(image_info(data)[0], "PNG", "the result's format")
    ctx.expect_true(has_transparency(data), "the cut-out has transparent pixels")


# --- happy paths -------------------------------------------------------------------------


@check(P, "image_upload", name="runware.image_upload.happy")
async def image_upload(ctx: Context) -> None:
    """A photo as a data URI: an ``imageUUID`` (a UUID)."""
    image_uuid = await _client(ctx).upload(ctx.image((320, 240)))
    try:
        uuid.UUID(image_uuid)
    except ValueError:
        raise ctx.fail("imageUUID is a UUID", "a UUID", image_uuid) from None


@check(P, "remove_background", name="runware.remove_background.sync", cost=1)
async def remove_background(ctx: Context) -> None:
    """Upload, then ``removeBackground`` (sync, PNG, ``includeCost``): a transparent PNG and a
    cost."""
    runware = _client(ctx)
    image_uuid = await runware.upload(ctx.image((320, 240)))
    ctx.spend()
    result = await runware.remove_background(image_uuid, output_format="PNG", include_cost=True)
    await _expect_png_cutout(ctx, runware, result)
    ctx.expect_true(result.cost is not None and result.cost > 0, "includeCost gives a cost",
                    result.raw)


@check(P, "remove_background", name="runware.remove_background.async_lifecycle", cost=1)
async def remove_background_async(ctx: Context) -> None:
    """``deliveryMethod: async``: acknowledged (``processing``), then ``getResponse`` until
    ``success`` with the result."""
    runware = _client(ctx)
    ctx.spend()
    accepted = await runware.remove_background(ctx.image((320, 240)), output_format="PNG",
                                               delivery="async")
    ctx.expect((accepted.status, accepted.image_url), ("processing", None),
               "the acknowledgement")
    await _expect_png_cutout(ctx, runware, await _wait(ctx, runware, accepted.task_uuid))


@check(P, "image_background_removal", name="runware.image_background_removal.legacy", cost=1)
async def legacy_removal(ctx: Context) -> None:
    """The legacy ``imageBackgroundRemoval`` task (what SDK 0.5.x sends) with ``base64Data``
    output: the PNG inline."""
    runware = _client(ctx)
    ctx.spend()
    result = await runware.remove_background(ctx.image((320, 240)), legacy=True,
                                             output_type="base64Data", output_format="PNG")
    data = result.image_bytes()
    ctx.expect_true(data, "the image inline (imageBase64Data)", result.raw)
    ctx.expect(image_info(data or b"")[0], "PNG", "the inline image's format")


@check(P, "remove_background", name="runware.remove_background.docs_example", mock_only=True)
async def docs_example(ctx: Context) -> None:
    """The docs' ``removeBackground`` request verbatim (their image UUID, model and settings):
    one result item for its ``taskUUID``, a JPG on white."""
    ctx.require_mock("the docs' image UUID exists only on a mock")
    task = contracts.load(P, "remove_background.request")["examples"][0]
    status, body = await _post(ctx, [task])
    ctx.expect(status, 200, "HTTP status")
    items = [i for i in body.get("data", []) if i.get("taskUUID") == task["taskUUID"]]
    ctx.expect(len(items), 1, "result items for the docs' taskUUID")
    runware = _client(ctx)
    data = await runware.download(items[0]["imageURL"])
    ctx.expect(image_info(data)[0], "JPEG", "outputFormat jpg")


@check(P, "ping", name="runware.ping.happy")
async def ping(ctx: Context) -> None:
    """The docs' ``ping`` task: ``pong`` true."""
    status, body = await _post(ctx, [contracts.load(P, "ping.request")["examples"][0]])
    ctx.expect((status, [i.get("pong") for i in body.get("data", [])]), (200, [True]),
               "status and pong")


@check(P, "authentication", name="runware.authentication.leading_task")
async def authentication(ctx: Context) -> None:
    """No bearer header, a leading ``authentication`` task instead: the next task is served
    and the authentication gets no item of its own."""
    auth = {"taskType": "authentication", "apiKey": ctx.credentials()["api_key"]}
    upload = {"taskType": "imageUpload", "taskUUID": _new_uuid(),
              "image": contracts.load(P, "image_upload.request")["examples"][0]["image"]}
    status, body = await _post(ctx, [auth, upload], key=None)
    ctx.expect((status, [i.get("taskType") for i in body.get("data", [])], body.get("errors")),
               (200, ["imageUpload"], None), "status, data items and errors")


# --- errors a request can provoke --------------------------------------------------------


@check(P, "get_response", name="runware.auth.invalid_key")
async def invalid_key(ctx: Context) -> None:
    """An unknown API key: ``invalidApiKey``, HTTP 401."""
    runware = _client(ctx, api_key="bgmock-check-unknown-key")
    await ctx.expect_error(runware.get_response(_new_uuid()), RunwareError, "an unknown key",
                           code="invalidApiKey", status=401)


@check(P, "image_upload", name="runware.auth.missing_key")
async def missing_key(ctx: Context) -> None:
    """No bearer header and no authentication task: ``missingApiKey``, HTTP 401."""
    ctx.credentials()  # live without Runware's key: skipped like every Runware check
    task = {"taskType": "imageUpload", "taskUUID": _new_uuid(),
            "image": contracts.load(P, "image_upload.request")["examples"][0]["image"]}
    ctx.expect(_first_error(ctx, *await _post(ctx, [task], key=None)), (401, "missingApiKey"),
               "status and code")


@check(P, "get_response", name="runware.get_response.unknown_id")
async def unknown_task(ctx: Context) -> None:
    """``getResponse`` for a task that does not exist: ``taskNotFound``, HTTP 404."""
    await ctx.expect_error(_client(ctx).get_response(_new_uuid()), RunwareError,
                           "an unknown taskUUID", code="taskNotFound", status=404)


@check(P, "remove_background", name="runware.remove_background.missing_field")
async def missing_field(ctx: Context) -> None:
    """A removal without ``inputImage``: ``missingInputImage``, HTTP 400."""
    task = {"taskType": "removeBackground", "taskUUID": _new_uuid()}
    ctx.expect(_first_error(ctx, *await _post(ctx, [task])), (400, "missingInputImage"),
               "status and code")


@check(P, "remove_background", name="runware.remove_background.bad_value")
async def bad_value(ctx: Context) -> None:
    """``outputQuality`` 100 (the range is 20-99): ``valueTooLarge``, HTTP 400."""
    runware = _client(ctx)
    await ctx.expect_error(runware.remove_background(ctx.image((64, 48)), output_quality=100),
                           RunwareError, "outputQuality 100", code="valueTooLarge",
                           status=400)


@check(P, "remove_background", name="runware.remove_background.invalid_task_uuid")
async def invalid_task_uuid(ctx: Context) -> None:
    """A ``taskUUID`` that is not a UUID v4: ``invalidTaskUUID``, HTTP 400."""
    await ctx.expect_error(
        _client(ctx).remove_background(ctx.image((64, 48)), task_uuid="not-a-uuid"),
        RunwareError,
        "taskUUID not-a-uuid", code="invalidTaskUUID", status=400)


@check(P, "image_upload", name="runware.image_upload.conflict")
async def conflict(ctx: Context) -> None:
    """A ``taskUUID`` already used by an accepted task: ``conflictTaskUUID``, HTTP 400."""
    runware = _client(ctx)
    task_uuid = _new_uuid()
    await runware.upload(ctx.image((320, 240)), task_uuid=task_uuid)
    await ctx.expect_error(runware.upload(ctx.image((320, 240)), task_uuid=task_uuid),
                           RunwareError, "a taskUUID used twice", code="conflictTaskUUID",
                           status=400)


# --- fault-injected paths and limits (a mock only) ------------------------------------------


@check(P, "remove_background", name="runware.remove_background.failed", mock_only=True)
async def failed(ctx: Context) -> None:
    """An async removal the mock fails: ``getResponse`` answers the error (``timeoutProvider``)
    and the client's ``wait`` raises it."""
    ctx.require_mock("needs fault rules")
    runware = _client(ctx)
    task_uuid = _new_uuid()
    async with fault_rule(ctx, "fail", "remove_background", key=ctx.credentials()["api_key"],
                          match={"taskUUID": task_uuid}):
        await runware.remove_background(ctx.image((320, 240)), delivery="async",
                                        task_uuid=task_uuid)
    await ctx.expect_error(_wait(ctx, runware, task_uuid), RunwareError,
                           "waiting on a failed task", code="timeoutProvider",
                           task_uuid=task_uuid)


@check(P, "remove_background", name="runware.remove_background.stuck", mock_only=True)
async def stuck(ctx: Context) -> None:
    """An async removal that stays ``processing``: waiting runs out of time."""
    ctx.require_mock("needs fault rules")
    await check_account(ctx, credits=10)
    runware = _own_account(ctx)
    async with fault_rule(ctx, "stuck", "remove_background", key=CHECK_KEY):
        accepted = await runware.remove_background(ctx.image((320, 240)), delivery="async")
    exc = await ctx.expect_error(_wait(ctx, runware, accepted.task_uuid, timeout=60),
                                 RunwareTimeout, "waiting on a stuck task")
    ctx.expect(exc.last.status, "processing", "the stuck task's last status")


@check(P, "remove_background", name="runware.remove_background.rate_limit", mock_only=True)
async def rate_limit(ctx: Context) -> None:
    """Rate limited (rule ``error=429``, once): ``rateLimitExceeded``, HTTP 429; the next
    removal goes through."""
    ctx.require_mock("needs fault rules")
    runware = _client(ctx)
    async with fault_rule(ctx, "error=429", "remove_background",
                          key=ctx.credentials()["api_key"]):
        await ctx.expect_error(runware.remove_background(DOCS_IMAGE), RunwareError,
                               "a rate-limited removal", code="rateLimitExceeded", status=429)
    ctx.expect((await runware.remove_background(DOCS_IMAGE)).status, "success",
               "the next removal")


@check(P, "remove_background", name="runware.remove_background.insufficient_credits",
       mock_only=True)
async def insufficient_credits(ctx: Context) -> None:
    """A key without credits: ``insufficientCredits``, HTTP 402."""
    ctx.require_mock("needs the admin API (credits)")
    await check_account(ctx, credits=0)
    await ctx.expect_error(_own_account(ctx).remove_background(DOCS_IMAGE), RunwareError,
                           "a removal without credits", code="insufficientCredits",
                           status=402)


@check(P, "remove_background", name="runware.remove_background.webhook_retry", mock_only=True)
async def webhook_retry(ctx: Context) -> None:
    """A removal with ``webhookURL`` and the ``webhook=fail`` fault: acknowledged at once; the
    result's first POST fails and it is retried on the mock clock."""
    ctx.require_mock("needs fault rules and the webhook journal")
    runware = _client(ctx)
    async with fault_rule(ctx, "webhook=fail", "remove_background",
                          key=ctx.credentials()["api_key"]):
        accepted = await runware.remove_background(DOCS_IMAGE, webhook_url=DEAD_RECEIVER)
    ctx.expect(accepted.status, "processing", "a webhook task's acknowledgement")
    await ctx.sleep(ASYNC_SECONDS + 1)
    await expect_retried(ctx, accepted.task_uuid)


# --- WebSocket: the official SDK ----------------------------------------------------------


def _photo_file(data: bytes) -> str:
    with tempfile.NamedTemporaryFile("wb", suffix=".png", delete=False) as out:
        out.write(data)
    return out.name


@check(P, "image_background_removal", name="runware.websocket.sdk_removal", cost=1)
async def sdk_removal(ctx: Context) -> None:
    """Runware's official SDK over the WebSocket: connect, remove a photo's background
    (it uploads the file first), a transparent PNG at the result URL. Skipped where the target
    has no socket (in-process) or the SDK is not installed."""
    url = ctx.websocket_url()
    try:
        from runware import IImageBackgroundRemoval, Runware
    except ImportError:
        raise Skipped("the official runware SDK is not installed (pip install runware)") from None
    path = await asyncio.to_thread(_photo_file, ctx.image((320, 240)))
    ctx.spend()
    sdk = Runware(api_key=ctx.credentials()["api_key"], url=url)
    try:
        await sdk.connect()
        images = await sdk.imageBackgroundRemoval(
            removeImageBackgroundPayload=IImageBackgroundRemoval(
                inputImage=path, outputType="URL", outputFormat="PNG"))
        ctx.expect(len(images), 1, "images the SDK returned")
        data = await _client(ctx).download(str(images[0].imageURL))
        ctx.expect(image_info(data)[0], "PNG", "the SDK's result format")
        ctx.expect_true(has_transparency(data), "the cut-out has transparent pixels")
    finally:
        await sdk.disconnect()
        await asyncio.to_thread(Path(path).unlink, True)

