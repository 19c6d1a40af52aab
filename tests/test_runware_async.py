"""Runware on the mock clock: async delivery and getResponse (R16, R19), webhookURL and
uploadEndpoint through the shared webhook engine (R17, R21, R25), sync tasks under faults
(D194), fault rules matched by key, task type and taskUUID on both transports (D197)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from tests.runware_calls import DOCS_IMAGE, RunwareApi, data_uri, new_uuid, photo
from tests.webhook_receiver import Receiver


def removal(**fields: Any) -> dict[str, Any]:
    return {"taskType": "removeBackground", "taskUUID": new_uuid(), "inputImage": DOCS_IMAGE,
            **fields}


def poll(runware: RunwareApi, task_uuid: str, status: int = 200) -> dict[str, Any]:
    return runware.run({"taskType": "getResponse", "taskUUID": task_uuid}, status=status)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as found:
        yield found


def test_async_is_acknowledged_then_processing_then_success(runware: RunwareApi) -> None:
    task = removal(deliveryMethod="async", includeCost=True)
    assert runware.run(task) == {"data": [{"taskType": "removeBackground",
                                           "taskUUID": task["taskUUID"]}]}
    assert poll(runware, task["taskUUID"]) == {"data": [{
        "taskType": "removeBackground", "taskUUID": task["taskUUID"], "status": "processing"}]}
    runware.controls.advance(2)
    [item] = poll(runware, task["taskUUID"])["data"]
    assert item["status"] == "success" and item["cost"] == 0.0006
    image = Image.open(io.BytesIO(runware.download(item["imageURL"]).content))
    assert image.mode == "RGBA"


def test_get_response_answers_sync_tasks_for_24_hours_to_their_key_only(runware: RunwareApi
                                                                        ) -> None:
    task = removal()
    [result] = runware.run(task)["data"]
    assert poll(runware, task["taskUUID"])["data"] == [{**result, "status": "success"}]
    runware.controls.set_account("runware", "other-key", secret="unused")
    [error] = runware.run({"taskType": "getResponse", "taskUUID": task["taskUUID"]},
                          status=404, headers={"Authorization": "Bearer other-key"})["errors"]
    assert error["code"] == "taskNotFound"
    runware.controls.advance(86401)
    assert poll(runware, task["taskUUID"], status=404)["errors"][0]["code"] == "taskNotFound"
    runware.run(task)  # the UUID is free again once its task is gone (D195)


def test_an_async_failure_is_an_error_item_with_status_error(runware: RunwareApi) -> None:
    task = removal(deliveryMethod="async")
    runware.run(task, fault="fail")
    runware.controls.advance(2)
    [error] = poll(runware, task["taskUUID"])["errors"]  # HTTP 200: the poll worked (D196)
    assert (error["code"], error["status"], error["taskType"], error["taskUUID"]) == (
        "timeoutProvider", "error", "removeBackground", task["taskUUID"])
    bad = removal(deliveryMethod="async", inputImage=data_uri(b"not an image"))
    runware.run(bad)
    runware.controls.advance(2)
    [error] = poll(runware, bad["taskUUID"])["errors"]
    assert (error["code"], error["status"]) == ("invalidInputImage", "error")


def test_polls_and_stuck_faults_shape_async_tasks(runware: RunwareApi) -> None:
    task = removal(deliveryMethod="async")
    runware.run(task, fault="polls=3")
    statuses = [(poll(runware, task["taskUUID"])["data"][0]["status"]) for _ in range(3)]
    assert statuses == ["processing", "processing", "success"]
    stuck = removal(deliveryMethod="async")
    runware.run(stuck, fault="stuck")
    runware.controls.advance(3600)
    assert poll(runware, stuck["taskUUID"])["data"][0]["status"] == "processing"


def test_sync_tasks_under_faults_never_wait_for_the_clock(runware: RunwareApi) -> None:
    """D194: duration does not hold a sync answer; stuck answers timeoutProvider at once."""
    runware.run(removal(), fault="duration=3600")
    stuck = removal()
    [error] = runware.run(stuck, status=504, fault="stuck")["errors"]
    assert error["code"] == "timeoutProvider"
    assert poll(runware, stuck["taskUUID"])["data"][0]["status"] == "processing"
    failed = removal()
    [error] = runware.run(failed, status=504,
                          fault="fail=provider went away")["errors"]
    assert (error["code"], error["message"]) == ("timeoutProvider", "provider went away")


@pytest.mark.parametrize(("code", "status"), [("timeoutProvider", 504), ("429", 429),
                                              ("503", 503), ("insufficientCredits", 402),
                                              ("invalidApiKey", 401)])
def test_injected_errors_have_their_status(runware: RunwareApi, code: str, status: int) -> None:
    [error] = runware.run(removal(), status=status,
                          fault=f"error={code}")["errors"]
    assert error["code"] == {"429": "rateLimitExceeded", "503": "serviceUnavailable"}.get(
        code, code)


def test_an_unknown_fault_code_is_the_mocks_own_400(runware: RunwareApi) -> None:
    response = runware.tasks(removal(), fault="error=nope")
    assert response.status_code == 400 and "bgmockError" in response.json()


def test_a_fault_rule_matched_by_task_uuid_spoils_only_that_task(runware: RunwareApi) -> None:
    victim, neighbour = removal(), removal()
    runware.controls.fault("runware", "error=timeoutProvider", operation="remove_background",
                           key="runware-demo-key", match={"taskUUID": victim["taskUUID"]})
    body = runware.run(victim, neighbour)
    assert [i["taskUUID"] for i in body["data"]] == [neighbour["taskUUID"]]
    assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == [
        ("timeoutProvider", victim["taskUUID"])]


def test_fault_rules_reach_socket_tasks(runware: RunwareApi) -> None:
    task = removal()
    runware.controls.fault("runware", "error=503", operation="remove_background",
                           match={"taskUUID": task["taskUUID"]}, count=1)
    with runware.socket() as ws:
        ws.authenticate()
        [error] = ws.run(task)["errors"]
        assert (error["code"], error["taskUUID"]) == ("serviceUnavailable", task["taskUUID"])
        [item] = ws.run({**task, "taskUUID": new_uuid()})["data"]  # the rule matched one task
        assert item["imageUUID"]


def test_webhook_gets_the_result_item(runware: RunwareApi, receiver: Receiver) -> None:
    task = removal(webhookURL=receiver.url, includeCost=True)
    assert runware.run(task)["data"] == [{"taskType": "removeBackground",
                                          "taskUUID": task["taskUUID"]}]  # R21
    assert not receiver.hits
    runware.controls.advance(2)
    [hit] = receiver.wait(1)
    assert hit.method == "POST" and hit.body["taskUUID"] == task["taskUUID"]
    assert hit.body["status"] == "success" and hit.body["cost"] == 0.0006
    [polled] = poll(runware, task["taskUUID"])["data"]
    assert polled == hit.body
    [attempt] = runware.http.get("/__admin/webhooks",
                                 params={"provider": "runware"}).json()
    assert attempt["outcome"] == "delivered"


def test_webhook_retries_and_faults(runware: RunwareApi) -> None:
    with Receiver(statuses=(500,)) as receiver:
        task = removal(webhookURL=receiver.url)
        runware.run(task, fault="webhook=duplicate")
        runware.controls.advance(2)
        receiver.wait(2)
        runware.controls.advance(5)  # the failed first attempt is retried after 5 s (C8)
        hits = receiver.wait(3)
        assert [h.body["taskUUID"] for h in hits] == [task["taskUUID"]] * 3


def test_upload_endpoint_gets_the_result_bytes(runware: RunwareApi, receiver: Receiver) -> None:
    task = removal(uploadEndpoint=receiver.url + "/put-here", outputFormat="WEBP")
    [item] = runware.run(task)["data"]
    [hit] = receiver.wait(1)
    assert hit.method == "PUT" and hit.path.endswith("/put-here")
    assert hit.headers["content-type"] == "image/webp"
    assert hit.raw == runware.download(item["imageURL"]).content
    assert Image.open(io.BytesIO(hit.raw)).format == "WEBP"


def test_uploads_answer_get_response_too(runware: RunwareApi) -> None:
    task = {"taskType": "imageUpload", "taskUUID": new_uuid(), "image": data_uri(photo())}
    [item] = runware.run(task)["data"]
    assert poll(runware, task["taskUUID"])["data"] == [{**item, "status": "success"}]


def test_a_socket_answers_removals_and_polls_as_rest_does(runware: RunwareApi) -> None:
    """The same tasks over both transports: the same items, apart from their own ids."""
    def shape(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items()
                if k not in ("taskUUID", "imageUUID", "inputImageUUID", "imageURL")}

    rest_task, socket_task = removal(includeCost=True), removal(includeCost=True)
    [rest] = runware.run(rest_task)["data"]
    with runware.socket() as ws:
        ws.authenticate()
        [item] = ws.run(socket_task)["data"]
        assert shape(item) == shape(rest) and item["taskUUID"] == socket_task["taskUUID"]
        served = runware.download(item["imageURL"])  # a socket's URLs are HTTP URLs
        assert served.status_code == 200
        assert served.content == runware.download(rest["imageURL"]).content
        [polled] = ws.run({"taskType": "getResponse", "taskUUID": socket_task["taskUUID"]})[
            "data"]
        assert polled == {**item, "status": "success"}
        acked = removal(deliveryMethod="async")
        assert ws.run(acked)["data"] == [{"taskType": "removeBackground",
                                          "taskUUID": acked["taskUUID"]}]
        [error] = ws.run({"taskType": "getResponse", "taskUUID": new_uuid()})["errors"]
        assert error["code"] == "taskNotFound"
