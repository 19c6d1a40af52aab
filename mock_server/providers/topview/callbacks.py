"""Topview's outbound callback (sheet "Outbound callback", decisions T28, T29, T36).

For every task submitted with a non-empty ``noticeUrl``, when the task ends the mock POSTs
``{uuid, bizType, taskId, status, errorMsg, result}`` with header ``Topview-Uid``: ``uuid`` is
the ``noticeUuid`` the submit answered, ``result`` the object the operation's query answers
(built by the same function as the query, so the two cannot drift). The core webhook engine
does the rest: schedule, retries, journal, faults (core/webhooks.py).

Generic by operation: :data:`BIZ_TYPES` maps an operation to its ``bizType``, and each
operation's module registers its ``query_result(engine, base_url, task) -> dict`` with
:func:`register` (remove background does so in service.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.core.tasks import Listener, Task
from bgmock.server.core.webhooks import WebhookFault

PROVIDER = "topview"
# T29: the documented values, plus remove background's (not documented). Keys are operation
# names as the task store records them (Task.operation).
BIZ_TYPES: dict[str, str] = {
    "remove_background": "COMMON_TASK_REMOVE_BACKGROUND",
    "product_background": "PRODUCT_ANY_SHOOT",
}

QueryResult = Callable[[Engine, str, Task], dict[str, Any]]
QUERY_RESULTS: dict[str, QueryResult] = {}


def register(operation: str, biz_type: str, query_result: QueryResult) -> None:
    """Declare how ``operation``'s callback is made: its ``bizType`` and the function that
    builds its query's ``result`` object."""
    BIZ_TYPES[operation] = biz_type
    QUERY_RESULTS[operation] = query_result


def body(engine: Engine, base_url: str, task: Task) -> dict[str, Any]:
    """The callback body for a finished task (contracts/topview/callback.json)."""
    return {"uuid": task.data.get("noticeUuid"), "bizType": BIZ_TYPES[task.operation],
            "taskId": task.id, "status": task.status, "errorMsg": task.error,
            "result": QUERY_RESULTS[task.operation](engine, base_url, task)}


def listeners(call: Call, operation: str) -> tuple[Listener, ...]:
    """The listener that sends ``operation``'s callback when the task ends, if the submit
    gave a ``noticeUrl`` (none for an empty one); the request's ``webhook=`` fault applies."""
    url = call.params.get("noticeUrl")
    if not isinstance(url, str) or not url or operation not in QUERY_RESULTS:
        return ()
    engine, base_url = call.engine, call.base_url

    def build(task: Task) -> tuple[dict[str, Any], dict[str, str]]:
        return body(engine, base_url, task), {"Topview-Uid": task.owner}

    return (engine.webhooks.on_finish(PROVIDER, url, build, WebhookFault.of(call.fault)),)


def notice_uuid(engine: Engine, call: Call) -> str | None:
    """The ``noticeUuid`` a submit answers: a fresh id with a ``noticeUrl``, else null."""
    return engine.ids.hex("topview.notice") if call.params.get("noticeUrl") else None
