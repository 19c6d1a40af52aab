"""Topview's upload + remove-background flow, in-process and over a real socket."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from bgmock.server.core import imaging
from PIL import Image

from tests.topview_calls import CHECK, CREDENTIAL, CREDIT, DEMO, QUERY, SUBMIT, Api, topview_body

PHOTO = imaging.encode(imaging.synthetic_product("flow", 400, 300, (100, 40, 260, 280)), "png")


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_upload_then_remove_background_end_to_end(api: Api) -> None:
    file_id = api.upload(PHOTO)
    check = topview_body("upload_check", api.get(CHECK, params={"fileId": file_id}))
    assert check["result"] is True

    task_id = api.submit(file_id)
    assert api.query(task_id)["result"]["status"] == "init"
    api.controls.advance(1.5)
    running = api.query(task_id)["result"]
    assert running["status"] == "running"
    assert all(running[k] is None for k in running if k not in ("taskId", "status"))
    api.controls.advance(10)
    done = api.query(task_id)["result"]
    assert done["status"] == "success"
    assert (done["bgRemovedImageWidth"], done["bgRemovedImageHeight"]) == (160, 240)
    assert (done["maskImageWidth"], done["maskImageHeight"]) == (400, 300)
    assert done["costCredit"] == 0.5 and done["errorMsg"] is None

    cutout = _decoded(api.http.get(done["bgRemovedImagePath"]).content)
    assert cutout.format == "PNG" and cutout.mode == "RGBA" and cutout.size == (160, 240)
    alpha = cutout.getchannel("A")
    assert alpha.getpixel((80, 120)) == 255            # the subject is kept
    mask = _decoded(api.http.get(done["maskImagePath"]).content)
    assert mask.size == (400, 300)
    assert mask.getpixel((10, 10)) == 0 and mask.getpixel((180, 160)) == 255


def test_credits_are_charged_on_success_only(api: Api) -> None:
    before = topview_body("credit_detail", api.get(CREDIT))["result"]["remainCredit"]
    ok = api.submit(api.upload(PHOTO), fault="polls=1")
    failed = api.submit(api.upload(PHOTO), fault="polls=1;fail=model service unavailable")
    assert api.query(ok)["result"]["status"] == "success"
    failure = api.query(failed)["result"]
    assert failure["status"] == "fail" and failure["errorMsg"] == "model service unavailable"
    assert failure["costCredit"] is None
    after = topview_body("credit_detail", api.get(CREDIT))["result"]["remainCredit"]
    assert after == before - 0.5


def test_result_urls_expire_on_the_mock_clock(api: Api) -> None:
    task_id = api.submit(api.upload(PHOTO), fault="polls=1")
    s3 = api.query(task_id)["result"]["bgRemovedImagePath"]
    cloudfront = api.query(task_id, cloudfront=True)["result"]["bgRemovedImagePath"]
    assert parse_qs(urlsplit(s3).query)["X-Amz-Expires"] == ["86400"]
    assert {"Policy", "Signature", "Key-Pair-Id"} <= set(parse_qs(urlsplit(cloudfront).query))
    assert api.http.get(s3).status_code == 200
    api.controls.advance(86400 + 1)
    expired = api.http.get(s3)
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content
    assert b"Request has expired" in expired.content
    assert api.http.get(cloudfront).status_code == 200       # CloudFront URLs live 7 days
    api.controls.advance(6 * 86400)
    assert api.http.get(cloudfront).status_code == 403
    fresh = api.query(task_id)["result"]["bgRemovedImagePath"]  # each query signs anew
    assert api.http.get(fresh).status_code == 200


def test_tampered_urls_are_refused(api: Api) -> None:
    task_id = api.submit(api.upload(PHOTO), fault="polls=1")
    url = api.query(task_id)["result"]["maskImagePath"]
    assert api.http.get(url.replace("mask.png", "cropped_image.png")).status_code == 403
    assert api.http.get(url.replace("X-Amz-Expires=86400", "X-Amz-Expires=999999")
                        ).status_code == 403
    cloudfront = api.query(task_id, cloudfront=True)["result"]["maskImagePath"]
    assert api.http.get(cloudfront.replace("Signature=", "Signature=A")).status_code == 403


def test_presigned_upload_expires(api: Api) -> None:
    credential = topview_body("upload_credential", api.get(CREDENTIAL, params={"format": "png"}))
    url, file_id = credential["result"]["uploadUrl"], credential["result"]["fileId"]
    assert credential["result"]["fileName"].endswith(".png")
    check = topview_body("upload_check", api.get(CHECK, params={"fileId": file_id}))
    assert check["result"] is False
    assert api.http.put(url, content=PHOTO).status_code == 200
    assert api.http.put(url, content=PHOTO).status_code == 200  # repeatable until it expires

    late = topview_body("upload_credential", api.get(CREDENTIAL, params={"format": "jpg"}))
    api.controls.advance(3601)
    expired = api.http.put(late["result"]["uploadUrl"], content=PHOTO)
    assert expired.status_code == 403 and b"Request has expired" in expired.content


def test_upload_size_limit(api: Api) -> None:
    limit = api.engine.settings.max_upload_bytes
    credential = topview_body("upload_credential", api.get(CREDENTIAL, params={"format": "png"}))
    too_big = api.http.put(credential["result"]["uploadUrl"], content=b"\0" * (limit + 1))
    assert too_big.status_code == 400 and b"EntityTooLarge" in too_big.content


def test_not_an_image_fails_the_task_not_the_request(api: Api) -> None:
    task_id = api.submit(api.upload(b"this is not a png"), fault="polls=1")
    result = api.query(task_id)["result"]
    assert result["status"] == "fail" and "decode" in result["errorMsg"]


def test_non_image_upload_is_rejected_at_submit(api: Api) -> None:
    file_id = api.upload(b"ID3fakeaudio", fmt="mp3")
    body = topview_body("remove_background_submit",
                        api.post(SUBMIT, json={"productImageFileId": file_id}))
    assert body["code"] == "4000"


@pytest.mark.parametrize(("headers", "code"), [
    ({}, "401"),
    ({"Topview-Uid": "NsDAaOPF4jLuAie4ewyg"}, "401"),
    ({"Topview-Uid": "nobody", "Authorization": DEMO["Authorization"]}, "401"),
    ({"Topview-Uid": "NsDAaOPF4jLuAie4ewyg", "Authorization": "Bearer sk-wrong"}, "401"),
    ({"Topview-Uid": "NsDAaOPF4jLuAie4ewyg", "Authorization": "Basic x"}, "401"),
])
def test_auth_failures_get_401_envelope(api: Api, headers: dict[str, str], code: str) -> None:
    response = api.http.get(CREDIT, headers=headers)
    assert response.status_code == 200
    assert topview_body("credit_detail", response) == {
        "code": code, "message": "Unauthorized, need to login again", "result": None}


@pytest.mark.parametrize(("method", "path", "kwargs", "code"), [
    ("POST", SUBMIT, {"json": {}}, "4003"),
    ("POST", SUBMIT, {"json": {"productImageFileId": None}}, "4003"),
    ("POST", SUBMIT, {"json": {"productImageFileId": ""}}, "4003"),
    ("POST", SUBMIT, {"json": {"productImageFileId": 42}}, "4001"),
    ("POST", SUBMIT, {"content": b"{not json"}, "4001"),
    ("POST", SUBMIT, {"json": ["productImageFileId"]}, "4001"),
    ("POST", SUBMIT, {"content": b"[" * 100_000 + b"]" * 100_000}, "4001"),
    ("POST", SUBMIT, {"json": {"productImageFileId": "0" * 32}}, "4004"),
    ("POST", SUBMIT, {"json": {"productImageFileId": "5a85c359bff14c95889e4652f1ec467e",
                               "noticeUrl": "ftp://x"}}, "4000"),
    ("GET", QUERY, {"params": {}}, "4003"),
    ("GET", QUERY, {"params": {"taskId": "nope"}}, "4004"),
    ("GET", QUERY, {"params": {"taskId": "56eac11a862143989e9cc63f8b213a2d",
                               "needCloudFrontUrl": "maybe"}}, "4000"),
    ("GET", CREDENTIAL, {"params": {}}, "4003"),
    ("GET", CREDENTIAL, {"params": {"format": "gif"}}, "4000"),
    ("GET", CHECK, {"params": {"fileId": "f" * 32}}, "4004"),
])
def test_bad_input_gets_topview_codes(api: Api, method: str, path: str, kwargs: dict,
                                      code: str) -> None:
    response = api.http.request(method, path, headers=DEMO, **kwargs)
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == code and body["result"] is None
    topview_body("remove_background_submit", response)


def test_other_accounts_cannot_see_your_files_or_tasks(api: Api) -> None:
    api.controls.set_account("topview", "other-uid", secret="sk-other")
    other = {"Topview-Uid": "other-uid", "Authorization": "Bearer sk-other"}
    file_id = api.upload(PHOTO)
    task_id = api.submit(file_id)
    assert api.http.post(SUBMIT, json={"productImageFileId": file_id},
                         headers=other).json()["code"] == "4004"
    assert api.http.get(QUERY, params={"taskId": task_id}, headers=other).json()["code"] == "4004"
    assert api.http.get(CHECK, params={"fileId": file_id}, headers=other).json()["code"] == "4004"


def test_concurrency_limit_gives_4007(api: Api) -> None:
    api.controls.set_account("topview", "NsDAaOPF4jLuAie4ewyg", concurrency=2)
    file_id = api.upload(PHOTO)
    api.submit(file_id)
    api.submit(file_id)
    third = api.post(SUBMIT, json={"productImageFileId": file_id}).json()
    assert third["code"] == "4007"
    api.controls.advance(60)  # both finish: room again
    assert api.submit(file_id)


def test_insufficient_credits_give_4100_and_reservations_count(api: Api) -> None:
    api.controls.set_account("topview", "NsDAaOPF4jLuAie4ewyg", credits=0.75)
    file_id = api.upload(PHOTO)
    api.submit(file_id)                       # reserves 0.5 of 0.75
    assert api.post(SUBMIT, json={"productImageFileId": file_id}).json()["code"] == "4100"
    api.controls.advance(60)
    account = api.controls.account("topview", "NsDAaOPF4jLuAie4ewyg")
    assert account["credits"] == 0.25 and account["reserved"] == 0


def test_failed_task_releases_its_reservation(api: Api) -> None:
    api.controls.set_account("topview", "NsDAaOPF4jLuAie4ewyg", credits=0.5)
    file_id = api.upload(PHOTO)
    task_id = api.submit(file_id, fault="fail")
    api.controls.advance(60)
    assert api.query(task_id)["result"]["status"] == "fail"
    assert api.submit(file_id)                # the 0.5 came back


@pytest.mark.parametrize("code", ["4002", "4005", "4006", "5000", "5001", "5003", "5004",
                                  "5005", "6001", "4100", "4007"])
def test_every_documented_code_can_be_injected(api: Api, code: str) -> None:
    response = api.http.get(CREDIT, headers={**DEMO, "X-Mock-Fault": f"error={code}"})
    body = topview_body("credit_detail", response)
    assert response.status_code == 200 and body["code"] == code and body["message"]


def test_fault_rules_with_count_and_key(api: Api) -> None:
    api.controls.fault("topview", "error=5003", operation="credit_detail", count=2,
                       key="NsDAaOPF4jLuAie4ewyg")
    codes = [api.get(CREDIT).json()["code"] for _ in range(3)]
    assert codes == ["5003", "5003", "200"]


def test_polls_stuck_and_fail_at(api: Api) -> None:
    file_id = api.upload(PHOTO)
    polled = api.submit(file_id, fault="polls=3")
    assert [api.query(polled)["result"]["status"] for _ in range(3)] == [
        "init", "running", "success"]
    stuck = api.submit(file_id, fault="stuck")
    api.controls.advance(10 * 86400)
    assert api.query(stuck)["result"]["status"] == "running"
    early = api.submit(file_id, fault="fail_at=init;duration=2")
    api.controls.advance(1.5)
    assert api.query(early)["result"]["status"] == "init"
    api.controls.advance(1)
    assert api.query(early)["result"]["status"] == "fail"


def test_bad_fault_header_is_a_loud_control_error(api: Api) -> None:
    for header in ("error=9999", "explode", "polls=0", "stuck=done"):
        response = api.http.post(SUBMIT, json={"productImageFileId":
                                               "5a85c359bff14c95889e4652f1ec467e"},
                                 headers={**DEMO, "X-Mock-Fault": header})
        assert response.status_code == 400, header
        assert "bgmockError" in response.json()


def test_delay_fault_slows_the_answer(api: Api) -> None:
    import time

    started = time.perf_counter()
    api.http.get(CREDIT, headers={**DEMO, "X-Mock-Fault": "delay=0.3"})
    assert time.perf_counter() - started >= 0.3


def test_host_routing_reaches_topview_without_prefix(api: Api) -> None:
    headers = {**DEMO, "Host": "api.topview.ai"}
    body = api.http.get("/v1/common_task/remove_background/query",
                        params={"taskId": "4274b375c30844c8bd0b1e4b6e44fb5f"},
                        headers=headers).json()
    assert body["result"]["status"] == "success"
    path = body["result"]["bgRemovedImagePath"]
    assert path.startswith(f"{api.controls.base_url}/files/s3/aigc/")  # reachable (D65)
    assert urlsplit(path).path.endswith("/cropped_image.png")


def test_unknown_path_and_method_answer_in_topview_shape(api: Api) -> None:
    missing = api.http.get(f"{SUBMIT}/nothing", headers=DEMO)
    assert missing.status_code == 404 and missing.json()["code"] == "404"
    wrong = api.http.get(SUBMIT, headers=DEMO)
    assert wrong.status_code == 405 and wrong.json()["code"] == "405"


def test_openapi_document_is_served(api: Api) -> None:
    document = api.http.get("/topview/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/v1/common_task/remove_background/submit" in document["paths"]


def test_journal_records_each_answer(api: Api) -> None:
    api.get(CREDIT)
    api.http.get(CREDIT)
    entries = api.controls.journal(provider="topview", operation="credit_detail")
    assert [e["code"] for e in entries[-2:]] == ["ok", "401"]
    assert entries[-1]["key"] is None and entries[-2]["key"] == "NsDAaOPF4jLuAie4ewyg"
