"""PICPIK's task queries: ListTasksDetails (current) and the legacy GetGenerateTaskDetail /
ListGenerateTaskDetail, each with its own field names and casing (K7, K8, K12, K13)."""

from __future__ import annotations

from typing import Any

from bgmock.server.core.endpoints import Call
from bgmock.server.core.tasks import Task
from bgmock.server.providers.picpik.errors import TASK_ERROR_CODE, PicpikError
from bgmock.server.providers.picpik.service import (
    ACTIONS,
    LIFECYCLE,
    PROVIDER,
    RESULT_BUCKET,
    Result,
    echo,
    settings,
)

LEGACY_TASK_TYPE = "TaskRemoveBackground"  # K13


async def _tasks(call: Call, ids: list[str], field: str) -> list[Task]:
    """The caller's tasks, in the order asked, each brought up to now (a poll). One unknown,
    expired or another key's id fails the whole query, naming it (K12)."""
    assert call.account is not None
    engine, owner = call.engine, call.account.key
    found = []
    for uid in ids:
        task = engine.tasks.get(uid)
        if task is None or task.provider != PROVIDER or task.owner != owner:
            raise PicpikError(230, echo(call), field, detail=f"no task {uid}")
        found.append(task)
    for task in found:
        await engine.tasks.observe(task, poll=True)
    return found


def urls(call: Call, task: Task) -> list[str]:
    """The result's URL, signed from the moment the task finished, so every query hands out
    the same URL and it dies 24 h after the task ended (K8)."""
    result = task.result
    if not task.succeeded or not isinstance(result, Result) or task.finished_at is None:
        return []
    engine = call.engine
    return [engine.s3.url(call.base_url, RESULT_BUCKET, result.key, now=task.finished_at,
                          expires=settings(engine).url_ttl)]


def _error(task: Task) -> tuple[int, str]:
    if task.status == LIFECYCLE.failure:
        return TASK_ERROR_CODE, task.error or LIFECYCLE.failure_message
    return 0, ""


def task_detail(call: Call, task: Task) -> dict[str, Any]:
    """A TaskDetail (``ErrorMassage`` spelt as the docs spell it)."""
    code, message = _error(task)
    return {"TaskUID": task.id, "Action": ACTIONS[task.operation], "Status": task.status,
            "ImgList": urls(call, task), "ConsumeApiPoint": int(task.cost) if task.succeeded
            else 0, "ErrorCode": code, "ErrorMassage": message}


def legacy(call: Call, task: Task) -> dict[str, Any]:
    code, message = _error(task)
    return {"TaskType": LEGACY_TASK_TYPE, "TaskStatus": task.status,
            "FinalPictureUrls": urls(call, task), "TaskErrorMsg": message,
            "TaskErrorCode": code}


async def list_tasks_details(call: Call) -> dict[str, Any]:
    found = await _tasks(call, call.params["TaskUIDList"], "TaskUIDList")
    return {"TaskDetailList": [task_detail(call, task) for task in found]}


async def get_generate_task_detail(call: Call) -> dict[str, Any]:
    (task,) = await _tasks(call, [call.params["TaskUID"]], "TaskUID")
    return legacy(call, task)


async def list_generate_task_detail(call: Call) -> dict[str, Any]:
    found = await _tasks(call, call.params["TaskUIDs"], "TaskUIDs")
    return {"TaskDetailList": [{"TaskUid": task.id, **legacy(call, task)} for task in found]}
