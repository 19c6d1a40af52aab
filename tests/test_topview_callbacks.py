"""Every Topview task kind calls back when submitted with a ``noticeUrl`` (sheet "Outbound
callback", T28, T29): the docs' own submit bodies, plus a ``noticeUrl`` at a real receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock

from bgmock import contracts
from tests.docs_examples import load
from tests.topview_calls import DEMO
from tests.webhook_receiver import Receiver

DOCS = [e for name in ("000_c9e614f3311d5d02.txt", "001_366e2b3b0c003057.txt")
        for e in load(name) if e.method == "POST" and e.path.endswith("/submit")]
BIZ_TYPES = {
    "remove_background_submit": "COMMON_TASK_REMOVE_BACKGROUND",
    "product_background_submit": "PRODUCT_ANY_SHOOT",
    "replace_product_image_submit": "PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE",
    "image_to_video_submit": "PRODUCT_AVATAR_IMAGE2VIDEO",
}
CASES = {e.operation("topview"): e for e in DOCS}  # one docs submit per task kind
SOURCE = "5a85c359bff14c95889e4652f1ec467e"       # a docs upload, there on a fresh mock


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def test_the_docs_have_a_submit_of_every_task_kind() -> None:
    assert set(CASES) == set(BIZ_TYPES)


@pytest.mark.parametrize("operation", sorted(BIZ_TYPES))
def test_each_task_kind_calls_back_with_its_query_result(operation: str,
                                                         receiver: Receiver) -> None:
    example = CASES[operation]
    query = operation.replace("_submit", "_query")
    mock = InProcessMock(Settings(clock="virtual"))
    try:
        with mock.client() as http:
            path = f"/topview{example.path}"
            answer = http.post(path, headers=example.headers,
                               json={**example.body, "noticeUrl": receiver.url}).json()
            assert answer["code"] == "200", answer
            accepted = answer["result"]
            assert not receiver.hits
            assert http.post("/__admin/clock/advance", json={"seconds": 600}).status_code == 200
            (hit,) = receiver.hits
            query_path = contracts.operations("topview")["operations"][query]["path"]
            polled = http.get(f"/topview{query_path}", params={"taskId": accepted["taskId"]},
                              headers=example.headers).json()["result"]
    finally:
        mock.close()
    contracts.validate("topview", "callback", hit.body)
    assert hit.body["bizType"] == BIZ_TYPES[operation]
    assert hit.body["uuid"] == accepted["noticeUuid"] is not None
    assert (hit.body["taskId"], hit.body["status"]) == (accepted["taskId"], "success")
    assert hit.body["result"]["taskId"] == polled["taskId"]
    assert hit.body["result"]["status"] == polled["status"] == "success"


@pytest.mark.parametrize(("url", "code"), [
    ("http://", "4000"), ("http://a/x\n", "4000"), ("http://a b/", "4000"),
    ("ftp://example.com/x", "4000"), ("HTTP://EXAMPLE.COM/x", "200"),
    ("https://example.com:8443/hook?x=1", "200")])
def test_a_notice_url_is_an_http_url_with_a_host(url: str, code: str) -> None:
    # what the check accepts is what the callback sender can send to (D169)
    mock = InProcessMock(Settings(clock="virtual"))
    try:
        with mock.client() as http:
            answer = http.post("/topview/notice/notice_url/check", json={"noticeUrl": url},
                               headers=DEMO).json()
            submit = http.post("/topview/v1/common_task/remove_background/submit",
                               json={"productImageFileId": SOURCE, "noticeUrl": url},
                               headers=DEMO).json()
    finally:
        mock.close()
    assert answer["code"] == submit["code"] == code


def test_a_callback_cannot_drive_the_mocks_admin_api() -> None:
    mock = InProcessMock(Settings(clock="virtual"))
    try:
        with mock.client() as http:
            accepted = http.post("/topview/v1/common_task/remove_background/submit", json={
                "productImageFileId": SOURCE,
                "noticeUrl": f"{mock.base_url}/__admin/reset"}, headers=DEMO).json()["result"]
            assert http.post("/__admin/clock/advance", json={"seconds": 10}).status_code == 200
            (record,) = http.get("/__admin/webhooks").json()
            still = http.get("/topview/v1/common_task/remove_background/query",
                             params={"taskId": accepted["taskId"]}, headers=DEMO).json()
    finally:
        mock.close()
    assert record["outcome"] == "refused" and "/__admin" in record["error"]
    assert still["code"] == "200"                      # not reset: the task is still there
