"""Runware's connection tasks and uploads over REST and WebSocket (R1, R2, R6, R14, R20, R23,
R27): authentication by bearer header, leading task or socket session; ping; imageUpload."""

from __future__ import annotations

import io

import pytest
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock
from PIL import Image

from tests.runware_calls import (
    DEMO_KEY,
    RunwareApi,
    data_uri,
    new_uuid,
    photo,
)


def upload_task(image: str, task_uuid: str | None = None) -> dict[str, str]:
    return {"taskType": "imageUpload", "taskUUID": task_uuid or new_uuid(), "image": image}


# --- REST ----------------------------------------------------------------------------------------

def test_ping_is_answered_without_a_key(runware: RunwareApi) -> None:
    body = runware.run({"taskType": "ping", "ping": True}, headers={})
    assert body == {"data": [{"taskType": "ping", "pong": True}]}


def test_a_leading_authentication_task_authenticates_and_gets_no_item(runware: RunwareApi
                                                                     ) -> None:
    task = upload_task(data_uri(photo()))
    body = runware.run({"taskType": "authentication", "apiKey": DEMO_KEY}, task, headers={})
    [item] = body["data"]
    assert (item["taskType"], item["taskUUID"]) == ("imageUpload", task["taskUUID"])


def test_without_a_key_every_task_is_missing_api_key_with_its_ids(runware: RunwareApi) -> None:
    task = upload_task(data_uri(photo()))
    body = runware.run(task, status=401, headers={})
    [error] = body["errors"]
    assert error["code"] == "missingApiKey"
    assert (error["taskType"], error["taskUUID"]) == ("imageUpload", task["taskUUID"])


def test_an_unknown_key_is_invalid_api_key(runware: RunwareApi) -> None:
    body = runware.run(upload_task("x"), status=401,
                       headers={"Authorization": "Bearer nope"})
    assert body["errors"][0]["code"] == "invalidApiKey"
    body = runware.run({"taskType": "authentication", "apiKey": "nope"}, status=401, headers={})
    assert body["errors"][0] == {
        "code": "invalidApiKey", "message": "Invalid API key. Get one at https://my.runware.ai/signup",
        "parameter": "apiKey", "type": "string", "taskType": "authentication",
        "documentation": "https://runware.ai/docs/en/getting-started/how-to-connect#request-apikey"}


def test_upload_by_data_uri_raw_base64_and_url_serves_the_image(runware: RunwareApi) -> None:
    png = photo("upload", 300, 200)
    raw = data_uri(png).split(",", 1)[1]
    for image in (data_uri(png), raw, "https://example.com/product.jpg"):
        [item] = runware.run(upload_task(image))["data"]
        assert item["imageURL"].split("?")[0].endswith(f"/runware/image/ii/{item['imageUUID']}."
                                                       + ("jpg" if "example" in image else "png"))
        served = runware.download(item["imageURL"])
        assert served.status_code == 200
        Image.open(io.BytesIO(served.content)).verify()
    [item] = runware.run(upload_task(data_uri(png)))["data"]
    assert runware.download(item["imageURL"]).content == png  # kept as it came


def test_uploads_are_capped_at_2048_px_on_the_longer_side(runware: RunwareApi) -> None:
    big = photo("big", 3000, 1500, "jpg")
    [item] = runware.run(upload_task(data_uri(big, "image/jpeg")))["data"]
    served = Image.open(io.BytesIO(runware.download(item["imageURL"]).content))
    assert served.size == (2048, 1024)


def test_an_uploaded_image_uuid_is_a_valid_input_and_polled_later(runware: RunwareApi) -> None:
    task = upload_task(data_uri(photo()))
    [item] = runware.run(task)["data"]
    [polled] = runware.run({"taskType": "getResponse", "taskUUID": task["taskUUID"]})["data"]
    assert polled == {**item, "status": "success"}


def test_bad_images_are_invalid_input_image(runware: RunwareApi) -> None:
    for image in ("not base64 at all!", data_uri(b"not an image"), "data:image/png;base64",
                  "00000000-0000-4000-8000-000000000000", "https://x.invalid/a.png"):
        body = runware.run(upload_task(image), status=400)
        error = body["errors"][0]
        assert (error["code"], error["parameter"]) == ("invalidInputImage", "image"), image


def test_a_reused_task_uuid_is_a_conflict(runware: RunwareApi) -> None:
    task = upload_task(data_uri(photo()))
    runware.run(task)
    body = runware.run(task, status=400)
    assert body["errors"][0]["code"] == "conflictTaskUUID"


def test_tasks_in_one_array_are_handled_independently(runware: RunwareApi) -> None:
    good = upload_task(data_uri(photo()))
    body = runware.run(upload_task("!!"), good, {"taskType": "nope"}, {"taskType": "ping"})
    assert [i["taskType"] for i in body["data"]] == ["imageUpload", "ping"]
    assert body["data"][0]["taskUUID"] == good["taskUUID"]
    assert [e["code"] for e in body["errors"]] == ["invalidInputImage", "unsupportedTaskType"]


def test_result_urls_are_signed_and_expire(runware: RunwareApi) -> None:
    [item] = runware.run(upload_task(data_uri(photo())))["data"]
    url = item["imageURL"]
    assert runware.download(url.replace("signature=", "signature=0")).status_code == 403
    assert runware.download(url.split("?")[0]).status_code == 403
    runware.controls.advance(31 * 86400)
    assert runware.download(url).status_code == 403


# --- WebSocket -----------------------------------------------------------------------------------

def test_socket_ping_before_auth_then_tasks_need_authentication(runware: RunwareApi) -> None:
    with runware.socket() as ws:
        assert ws.run({"taskType": "ping", "ping": True}) == {
            "data": [{"taskType": "ping", "pong": True}]}
        task = upload_task(data_uri(photo()))
        [error] = ws.run(task)["errors"]
        assert (error["code"], error["taskUUID"], error["taskType"]) == (
            "missingApiKey", task["taskUUID"], "imageUpload")
        [error] = ws.run({"taskType": "authentication", "apiKey": "bad"})["errors"]
        assert (error["code"], error["taskType"]) == ("invalidApiKey", "authentication")
        session = ws.authenticate()  # the socket stayed open after the bad key (R20)
        assert len(session) == 36
        [item] = ws.run(task)["data"]
        assert (item["taskType"], item["taskUUID"]) == ("imageUpload", task["taskUUID"])


def test_socket_and_rest_answer_the_same_tasks_alike(runware: RunwareApi) -> None:
    tasks = [{"taskType": "ping", "ping": True}, upload_task("!!"), {"taskType": "nope"}]
    rest = runware.run(*tasks, status=200)
    with runware.socket() as ws:
        ws.authenticate()
        assert ws.run(*tasks) == rest


# --- routing, journal ------------------------------------------------------------------------

def test_host_routing_without_the_prefix(runware: RunwareApi) -> None:
    response = runware.http.post("/v1", json=[upload_task(data_uri(photo()))], headers={
        "Authorization": f"Bearer {DEMO_KEY}", "Host": "api.runware.ai"})
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    path = item["imageURL"].split("/runware", 1)[1]  # /image/ii/<uuid>.png?...
    served = runware.http.get(path, headers={"Host": "im.runware.ai"})
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    if runware.mode == "inprocess":  # over the wire the client library sets its own Host
        with runware.socket("/v1", host="ws-api.runware.ai") as ws:
            assert ws.run({"taskType": "ping", "ping": True})["data"][0]["pong"] is True


def test_each_task_is_journalled_under_its_operation(runware: RunwareApi) -> None:
    runware.controls.http.delete(f"{runware.controls.base_url}/__admin/journal")
    runware.run({"taskType": "ping"}, upload_task("!!"), {"taskType": "nope"})
    entries = runware.controls.journal("runware")
    assert [(e["operation"], e["code"]) for e in entries[-3:]] == [
        ("ping", "ok"), ("image_upload", "invalidInputImage"), ("", "unsupportedTaskType")]


# --- keys, credits, reset ---------------------------------------------------------------------

def test_admin_creates_keys_with_the_starting_credits(runware: RunwareApi) -> None:
    created = runware.controls.set_account("runware", "team-key", secret="unused")
    assert created["credits"] == 10.0  # R26
    body = runware.run(upload_task(data_uri(photo())),
                       headers={"Authorization": "Bearer team-key"})
    assert body["data"][0]["imageUUID"]
    runware.controls.set_account("runware", "team-key", credits=2.5)
    assert runware.controls.account("runware", "team-key")["credits"] == 2.5


def test_config_file_keys() -> None:
    mock = InProcessMock(Settings(clock="virtual", accounts={
        "runware": [{"api_key": "ci-key", "credits": 0.001}]}))
    try:
        assert mock.account("runware", "ci-key")["credits"] == 0.001
    finally:
        mock.close()
    with pytest.raises(ValueError, match=r"accounts\.runware\[0\]\.api_key"):
        InProcessMock(Settings(clock="virtual", accounts={"runware": [{"credits": 1}]}))


def test_reset_brings_back_the_demo_key_and_forgets_tasks(runware: RunwareApi) -> None:
    task = upload_task(data_uri(photo()))
    runware.run(task)
    runware.controls.set_account("runware", DEMO_KEY, credits=0)
    runware.controls.reset()
    assert runware.controls.account("runware", DEMO_KEY)["credits"] == 10.0
    runware.run(task)  # its UUID is free again: the task was forgotten
