"""PICPIK's named checks: the signed ``Action`` API through the reference client
(:mod:`bgmock.client.picpik`): a removal and a batch to ``Finished``, the legacy queries, the
docs' examples (their key and task ids exist on a mock), the documented ``RetCode``s a request
can provoke, and (on a mock) a failed and a stuck task, the points and the unfinished-task
limit and an injected 153. ``cost`` counts the images PICPIK charges points for live."""

from __future__ import annotations

from typing import Any

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
from bgmock.client.picpik import (
    AsyncPicpikClient,
    PicpikError,
    PicpikTaskFailed,
    PicpikTimeout,
    TaskDetail,
)

from bgmock import contracts

P = "picpik"
UNKNOWN_UID = "c" * 20
BOX = (60, 20, 260, 220)  # inside the check's 320x240 photo, x1 < x2, y1 < y2


def _client(ctx: Context, **kw: Any) -> AsyncPicpikClient:
    return ctx.client(AsyncPicpikClient, **kw)


def _own_account(ctx: Context) -> AsyncPicpikClient:
    return _client(ctx, public_key=CHECK_KEY, private_key=CHECK_SECRET)


async def _wait(ctx: Context, picpik: AsyncPicpikClient, uid: str,
                timeout: float = 600) -> TaskDetail:
    return await picpik.wait(uid, timeout=timeout, interval=1, max_interval=10, sleep=ctx.sleep)


async def _post(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """One JSON ``POST`` of ``body`` as it is (signed or not), its JSON answer."""
    response = await ctx.http.post("/", json=body)
    answer = response.json()
    ctx.expect_true(isinstance(answer, dict), "PICPIK answers a JSON object", answer)
    return answer


async def _signed(ctx: Context, action: str, params: dict[str, Any],
                  picpik: AsyncPicpikClient | None = None) -> dict[str, Any]:
    """A call the reference client has no method for, signed by it."""
    return await _post(ctx, (picpik or _client(ctx)).signed(action, params))


def _docs_request(operation: str) -> dict[str, Any]:
    """The docs' request example of ``operation`` (the contract keeps it verbatim)."""
    return dict(contracts.load(P, f"{operation}.request")["examples"][0])


def _expect_ret(ctx: Context, body: dict[str, Any], ret_code: int, what: str) -> None:
    ctx.expect({"RetCode": body.get("RetCode")}, {"RetCode": ret_code}, what)


# --- happy paths -------------------------------------------------------------------------


@check(P, "remove_background", name="picpik.remove_background.lifecycle", cost=1)
async def remove_background(ctx: Context) -> None:
    """One image with a box: ``Queuing``/``Running``, then ``Finished`` with one PNG cut-out
    (transparent) of the whole frame and one point consumed."""
    picpik = _client(ctx)
    ctx.spend()
    photo = ctx.image((320, 240))
    uid = await picpik.remove_background(photo, box=BOX, erode_size=5)
    ctx.expect_in((await picpik.task(uid)).status, ("Queuing", "Running", "Finished"),
                  "status right after the submit")
    task = await _wait(ctx, picpik, uid)
    ctx.expect(task.status, "Finished", "terminal status")
    ctx.expect(len(task.img_list), 1, "images in ImgList")
    ctx.expect(task.consume_api_point, 1, "ConsumeApiPoint")
    data = await picpik.download(task.img_list[0])
    ctx.expect(image_info(data)[:2], ("PNG", (320, 240)), "the result (the whole frame)")
    ctx.expect_true(has_transparency(data), "the cut-out has transparent pixels")


@check(P, "remove_backgrounds_in_batch", name="picpik.remove_backgrounds_in_batch.lifecycle",
       cost=2)
async def batch(ctx: Context) -> None:
    """Two images, masks only: two task ids in order, both ``Finished`` with a mask each."""
    picpik = _client(ctx)
    ctx.spend(2)
    uids = await picpik.remove_backgrounds([ctx.image((320, 240)), ctx.image((240, 320))],
                                           only_mask=True)
    ctx.expect(len(uids), 2, "TaskUIDList length")
    await _wait(ctx, picpik, uids[0])
    tasks = {t.task_uid: t for t in await picpik.tasks(uids)}
    ctx.expect(sorted(tasks), sorted(uids), "the tasks ListTasksDetails answers")
    for uid, size in zip(uids, ((320, 240), (240, 320)), strict=True):
        ctx.expect(tasks[uid].status, "Finished", f"task {uid}")
        fmt, got, mode = image_info(await picpik.download(tasks[uid].img_list[0]))
        ctx.expect((fmt, got, mode), ("PNG", size, "L"), f"task {uid}'s mask")


@check(P, "get_generate_task_detail", name="picpik.legacy_queries.happy", cost=1)
async def legacy_queries(ctx: Context) -> None:
    """A finished task through the legacy ``GetGenerateTaskDetail`` and
    ``ListGenerateTaskDetail``: ``TaskStatus`` Finished, one ``FinalPictureUrls`` each."""
    picpik = _client(ctx)
    ctx.spend()
    uid = await picpik.remove_background(ctx.image((320, 240)))
    await _wait(ctx, picpik, uid)
    one = await _signed(ctx, "GetGenerateTaskDetail", {"TaskUID": uid}, picpik)
    _expect_ret(ctx, one, 0, "GetGenerateTaskDetail")
    ctx.expect((one.get("TaskStatus"), len(one.get("FinalPictureUrls") or ())),
               ("Finished", 1), "GetGenerateTaskDetail's status and pictures")
    many = await _signed(ctx, "ListGenerateTaskDetail", {"TaskUIDs": [uid]}, picpik)
    _expect_ret(ctx, many, 0, "ListGenerateTaskDetail")
    ctx.expect([(t.get("TaskUid"), t.get("TaskStatus")) for t in many["TaskDetailList"]],
               [(uid, "Finished")], "ListGenerateTaskDetail's tasks")
    ctx.expect(image_info(await picpik.download(one["FinalPictureUrls"][0]))[0], "PNG",
               "the legacy picture's format")


@check(P, "remove_background", name="picpik.remove_background.docs_example", mock_only=True)
async def docs_remove_background(ctx: Context) -> None:
    """The docs' ``RemoveBackground`` request verbatim (their key, placeholder image and
    signature): accepted, and the task finishes."""
    ctx.require_mock("the docs' key and placeholder image exist only on a mock")
    body = await _post(ctx, _docs_request("remove_background"))
    _expect_ret(ctx, body, 0, "the docs' RemoveBackground")
    query = {**_docs_request("list_tasks_details"), "TaskUIDList": [body["TaskUID"]]}
    await ctx.finish(10)
    answer = await _post(ctx, query)
    ctx.expect([t.get("Status") for t in answer.get("TaskDetailList", [])], ["Finished"],
               "the docs' task 10 s later")


@check(P, "list_tasks_details", name="picpik.docs_queries.docs_example", mock_only=True)
async def docs_queries(ctx: Context) -> None:
    """The docs' three query examples verbatim (``ListTasksDetails``, the legacy
    ``GetGenerateTaskDetail`` and ``ListGenerateTaskDetail``): their tasks are finished."""
    ctx.require_mock("the docs' task ids exist only on a mock")
    listed = await _post(ctx, _docs_request("list_tasks_details"))
    ctx.expect([t.get("Status") for t in listed.get("TaskDetailList", [])], ["Finished"],
               "ListTasksDetails of the docs' task")
    one = await _post(ctx, _docs_request("get_generate_task_detail"))
    ctx.expect(one.get("TaskStatus"), "Finished", "GetGenerateTaskDetail of the docs' task")
    many = await _post(ctx, _docs_request("list_generate_task_detail"))
    ctx.expect([t.get("TaskStatus") for t in many.get("TaskDetailList", [])], ["Finished"],
               "ListGenerateTaskDetail of the docs' task")


# --- errors a request can provoke --------------------------------------------------------


@check(P, "list_tasks_details", name="picpik.auth.bad_signature")
async def bad_signature(ctx: Context) -> None:
    """Signed with another private key: 171 ``Signature VerifyAC Error``."""
    picpik = _client(ctx, private_key="bgmock-check-not-the-key")
    await ctx.expect_error(picpik.tasks([UNKNOWN_UID]), PicpikError, "a wrong signature",
                           ret_code=171)


@check(P, "list_tasks_details", name="picpik.auth.missing_signature")
async def missing_signature(ctx: Context) -> None:
    """No ``Signature`` at all: 170 ``Missing signature``."""
    body = _client(ctx).signed("ListTasksDetails", {"TaskUIDList": [UNKNOWN_UID]})
    del body["Signature"]
    _expect_ret(ctx, await _post(ctx, body), 170, "a request without a signature")


@check(P, "list_tasks_details", name="picpik.auth.unknown_key")
async def unknown_key(ctx: Context) -> None:
    """A ``PublicKey`` PICPIK does not know: 172 ``User Not Exists``."""
    picpik = _client(ctx, public_key="bgmock-check-unknown-key")
    await ctx.expect_error(picpik.tasks([UNKNOWN_UID]), PicpikError, "an unknown key",
                           ret_code=172)


@check(P, "remove_background", name="picpik.remove_background.missing_field")
async def missing_field(ctx: Context) -> None:
    """``RemoveBackground`` without ``RawImage``: 220 ``Missing params [RawImage]``."""
    body = await _signed(ctx, "RemoveBackground", {})
    _expect_ret(ctx, body, 220, "a removal without RawImage")
    ctx.expect_true("RawImage" in str(body.get("Message")), "the message names RawImage", body)


@check(P, "remove_background", name="picpik.remove_background.bad_value")
async def bad_value(ctx: Context) -> None:
    """``ErodeSize`` 99 (the range is 0-40): 230 ``Params [ErodeSize] not available``."""
    picpik = _client(ctx)
    await ctx.expect_error(picpik.remove_background(ctx.image((320, 240)), erode_size=99),
                           PicpikError, "ErodeSize out of range", ret_code=230)


@check(P, "list_tasks_details", name="picpik.list_tasks_details.unknown_id")
async def unknown_task(ctx: Context) -> None:
    """A ``TaskUID`` that does not exist: 230 (``no task <id>``)."""
    await ctx.expect_error(_client(ctx).tasks([UNKNOWN_UID]), PicpikError, "an unknown TaskUID",
                           ret_code=230)


@check(P, "remove_background", name="picpik.action.unknown")
async def unknown_action(ctx: Context) -> None:
    """An ``Action`` the endpoint does not serve (``ListModels``): 161 ``Action Not
    Exists``."""
    _expect_ret(ctx, await _signed(ctx, "ListModels", {}), 161, "an unknown Action")


# --- fault-injected paths and limits (a mock only) ------------------------------------------


@check(P, "remove_background", name="picpik.remove_background.failed", mock_only=True)
async def failed(ctx: Context) -> None:
    """A task the mock fails: ``Error`` with ``ErrorCode`` 500 and its ``ErrorMassage``; no
    point consumed; the client's ``wait`` raises."""
    ctx.require_mock("needs fault rules")
    picpik = _client(ctx)
    async with fault_rule(ctx, "fail=bgmock check failure", "remove_background",
                          key=ctx.credentials()["public_key"]):
        uid = await picpik.remove_background(ctx.image((320, 240)))
    exc = await ctx.expect_error(_wait(ctx, picpik, uid), PicpikTaskFailed,
                                 "waiting on a failed task", ret_code=500)
    ctx.expect((exc.task.status, exc.task.error_message, exc.task.consume_api_point),
               ("Error", "bgmock check failure", 0), "the failed task")


@check(P, "remove_background", name="picpik.remove_background.stuck", mock_only=True)
async def stuck(ctx: Context) -> None:
    """A task that never leaves ``Running``: waiting runs out of time."""
    ctx.require_mock("needs fault rules")
    await check_account(ctx, credits=1000, concurrency=10_000)
    picpik = _own_account(ctx)
    async with fault_rule(ctx, "stuck=Running", "remove_background", key=CHECK_KEY):
        uid = await picpik.remove_background(ctx.image((320, 240)))
    await ctx.expect_error(_wait(ctx, picpik, uid, timeout=60), PicpikTimeout,
                           "waiting on a stuck task", status="Running")


@check(P, "remove_background", name="picpik.remove_background.insufficient_balance",
       mock_only=True)
async def insufficient_balance(ctx: Context) -> None:
    """A key without points: 520 ``Insufficient Balance``."""
    ctx.require_mock("needs the admin API (points)")
    await check_account(ctx, credits=0)
    await ctx.expect_error(_own_account(ctx).remove_background(ctx.image((320, 240))),
                           PicpikError, "a removal without points", ret_code=520)


@check(P, "remove_background", name="picpik.remove_background.too_frequent", mock_only=True)
async def too_frequent(ctx: Context) -> None:
    """A key at its unfinished-task limit: 153 ``Request Too Frequent``."""
    ctx.require_mock("needs the admin API (the unfinished-task limit)")
    await check_account(ctx, credits=1000, concurrency=0)
    await ctx.expect_error(_own_account(ctx).remove_background(ctx.image((320, 240))),
                           PicpikError, "a removal past the unfinished-task limit",
                           ret_code=153)


@check(P, "list_tasks_details", name="picpik.list_tasks_details.rate_limit", mock_only=True)
async def rate_limit(ctx: Context) -> None:
    """A rate-limited query (rule ``error=153``, once): 153, then the query answers again."""
    ctx.require_mock("needs fault rules")
    picpik = _client(ctx)
    uid = await picpik.remove_background(ctx.image((320, 240)))
    async with fault_rule(ctx, "error=153", "list_tasks_details",
                          key=ctx.credentials()["public_key"]):
        await ctx.expect_error(picpik.tasks([uid]), PicpikError, "a rate-limited query",
                               ret_code=153)
    ctx.expect([t.task_uid for t in await picpik.tasks([uid])], [uid], "the next query")
