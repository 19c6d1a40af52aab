"""The PICPIK reference client (client/picpik.py) against the mock: in process and over a real
socket, sync and async, and through respx on the real host for transport failures. Every answer
the client sees is checked against the contracts, and every request it sends is verified as
PICPIK verifies it (the signature, recomputed)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import pytest
import respx
from bgmock.client._common import MissingCredentials, PollTimeout, ProviderError
from bgmock.client.picpik import (
    DEFAULT_BASE_URL,
    OPERATIONS,
    AsyncPicpikClient,
    PicpikClient,
    PicpikError,
    PicpikTaskFailed,
    PicpikTimeout,
    TaskDetail,
    data_uri,
    sign,
    string_to_sign,
)
from bgmock.server.core import imaging
from bgmock.server.testing import InProcessMock, MockServer
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bgmock import contracts
from tests.recording import AsyncRecorder, Recorder, is_storage

PUBLIC, PRIVATE = "abcdefg", "123456"          # the signature page's test keys (K16)
DOCS_PUBLIC = "ALLak9M4cNdHXKOJAJJ4k8Hh1hZS2EgJF1D0FlPwfl"   # signature checking off (K16)
SUBJECT = (60, 40, 140, 150)


@cache
def photo(fmt: str = "png") -> bytes:
    return imaging.encode(imaging.synthetic_product("client", 200, 180, SUBJECT), fmt)


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- recording: every request verified, every answer checked against the contracts ----------


def check_exchange(request: httpx.Request, response: httpx.Response) -> str | None:
    if is_storage(request):
        return None
    sent = json.loads(request.content)
    assert request.method == "POST" and request.url.path.endswith("/")
    assert request.headers["content-type"] == "application/json"
    assert sent["Signature"] == sign(sent, PRIVATE) or sent["PublicKey"] != PUBLIC
    assert set(sent) >= {"Action", "PublicKey", "request_uuid", "Signature"}
    operation = OPERATIONS[sent["Action"]]  # named by the body field (D181)
    contracts.validate("picpik", f"{operation}.request", sent)
    return contracts.check_response("picpik", operation, response.json())


def recorder_of(inner: httpx.BaseTransport) -> Recorder:
    return Recorder(inner, check_exchange)


@pytest.fixture
def recorder(bgmock: InProcessMock) -> Recorder:
    return recorder_of(bgmock.transport)


@pytest.fixture
def picpik(bgmock: InProcessMock, recorder: Recorder) -> Iterator[PicpikClient]:
    with PicpikClient(PUBLIC, PRIVATE, bgmock.url("picpik"), transport=recorder) as client:
        yield client


def sent_bodies(recorder: Recorder) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in recorder.api()]


# --- signing ----------------------------------------------------------------------------------


REMOVE_EXAMPLE = {"Action": "RemoveBackground", "PublicKey": "abcdefg",
                  "request_uuid": "15ba36f2-2d69-40bd-9e0c-3e73f0f5acd0",
                  "Box": [180, 264, 510, 642], "ErodeSize": 15, "ForegroundThreshold": 240,
                  "BackgroundThreshold": 15, "HairOptimization": "auto", "OnlyMask": False,
                  "RawImage": "data:image/jpeg;base64,xxx"}


@pytest.mark.parametrize(("params", "text", "signature"), [
    ({"Action": "ListModels", "PublicKey": "abcdefg"},
     "ActionListModelsPublicKeyabcdefg123456", "4a20bc1141494035f6aaaad13224c94c5a8bc3a5"),
    ({"Action": "StartPicpikApp", "PublicKey": "abcdefg", "AppId": "your_app_id"},
     "ActionStartPicpikAppAppIdyour_app_idPublicKeyabcdefg123456",
     "c5e65ad1936ff695436917bf807d2281db33e7a3"),
    (REMOVE_EXAMPLE,
     "ActionRemoveBackgroundBackgroundThreshold15Box180264510642ErodeSize15"
     "ForegroundThreshold240HairOptimizationautoOnlyMaskfalsePublicKeyabcdefg"
     "RawImagedata:image/jpeg;base64,xxxrequest_uuid15ba36f2-2d69-40bd-9e0c-3e73f0f5acd0123456",
     "694889d781ad9f8054c8fdf3bbb7a080ca3da803"),
    ({"Action": "ListTasksDetails", "PublicKey": "abcdefg",
      "TaskUIDList": ["ckti5nf2h4keq8mr9n00"],
      "request_uuid": "ebe3bd1a-2fb6-4a85-a1bd-a5d556bf0f50"},
     "ActionListTasksDetailsPublicKeyabcdefgTaskUIDListckti5nf2h4keq8mr9n00"
     "request_uuidebe3bd1a-2fb6-4a85-a1bd-a5d556bf0f50123456",
     "3e4b285590e95738563c7172ad6bc258d202eb10"),
], ids=["published-docs", "published-repo", "derived-remove", "derived-query"])
def test_the_sheets_four_vectors(params: dict[str, Any], text: str, signature: str) -> None:
    assert string_to_sign(params, "123456") == text
    assert sign(params, "123456") == signature
    # a Signature (either case) already in the parameters is left out
    assert sign({**params, "Signature": "x", "signature": "y"}, "123456") == signature


def test_values_become_text_as_the_official_signer_writes_them() -> None:
    assert string_to_sign({"b": True, "a": 42.0, "c": None, "B": 0.00001, "m": {"y": [1, 2],
                                                                              "x": 1.5}}, "K") \
        == "B0.00001" "a42" "btrue" "c" "m" "x1.5" "y12" "K"
    assert sign({"A": "é"}, "k") == sign({"A": "é"}, "k") != sign({"A": "e"}, "k")


def test_bytes_go_as_a_data_uri_and_text_as_it_is() -> None:
    uri = data_uri(photo())
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == photo()
    assert data_uri(photo("jpeg")).startswith("data:image/jpeg;base64,")
    assert data_uri(photo("webp")).startswith("data:image/webp;base64,")
    assert data_uri(b"??").startswith("data:application/octet-stream;base64,")
    assert data_uri("QUJD") == "QUJD"


def test_every_action_of_the_contract_is_known() -> None:
    assert OPERATIONS["RemoveBackground"] == "remove_background"
    assert set(OPERATIONS) >= {"RemoveBackgroundsInBatch", "ListTasksDetails"}


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PICPIK_PUBLIC_KEY", "pub")
    monkeypatch.setenv("PICPIK_PRIVATE_KEY", "priv")
    with PicpikClient() as client:
        assert (client.public_key, client.private_key) == ("pub", "priv")
        assert client.base_url == DEFAULT_BASE_URL + "/"
        assert "priv" not in repr(client)
    monkeypatch.delenv("PICPIK_PRIVATE_KEY")
    with pytest.raises(MissingCredentials, match="PICPIK_PRIVATE_KEY"):
        PicpikClient()


# --- the flows, in process --------------------------------------------------------------------


def test_remove_background_wait_and_download(bgmock: InProcessMock, recorder: Recorder,
                                             picpik: PicpikClient) -> None:
    uid = picpik.remove_background(photo(), box=(0, 0, 100, 180), erode_size=4,
                                   hair_optimization="off")
    assert len(uid) == 20
    task = picpik.wait(uid, sleep=bgmock.advance)
    assert isinstance(task, TaskDetail)
    assert (task.task_uid, task.action, task.status) == (uid, "RemoveBackground", "Finished")
    assert task.consume_api_point == 1 and task.error_code == 0 and len(task.img_list) == 1
    assert task.raw["Status"] == "Finished"
    cut = open_image(picpik.download(task.img_list[0]))
    assert cut.format == "PNG" and cut.size == (200, 180)
    alpha = cut.getchannel("A")
    assert alpha.crop((100, 0, 200, 180)).getextrema() == (0, 0)  # nothing outside the Box
    assert alpha.getpixel((80, 100)) == 255  # the subject inside it is kept
    first = sent_bodies(recorder)[0]
    assert {k: first[k] for k in ("Action", "Box", "ErodeSize", "HairOptimization")} == \
        {"Action": "RemoveBackground", "Box": [0, 0, 100, 180], "ErodeSize": 4,
         "HairOptimization": "off"}
    assert "OnlyMask" not in first and "ForegroundThreshold" not in first  # defaults: not sent
    assert base64.b64decode(first["RawImage"].split(",", 1)[1]) == photo()
    uuids = [b["request_uuid"] for b in sent_bodies(recorder)]
    assert len(set(uuids)) == len(uuids)  # a fresh request_uuid per call
    assert recorder.validated[0] == "remove_background.response"
    assert set(recorder.validated[1:]) == {"list_tasks_details.response"}


def test_only_mask_and_text_images(bgmock: InProcessMock, picpik: PicpikClient) -> None:
    encoded = base64.b64encode(photo()).decode()  # bare base64, sent as it is
    uid = picpik.remove_background(encoded, only_mask=True, remove_type="General")
    mask = open_image(picpik.download(picpik.wait(uid, sleep=bgmock.advance).img_list[0]))
    assert mask.mode == "L" and mask.getpixel((5, 5)) == 0 and mask.getpixel((100, 100)) == 255


def test_a_batch_gives_one_uid_per_image(bgmock: InProcessMock, recorder: Recorder,
                                         picpik: PicpikClient) -> None:
    uids = picpik.remove_backgrounds([photo(), photo("jpeg")], erode_size=0,
                                     foreground_threshold=200, background_threshold=20)
    assert len(uids) == 2 and len(set(uids)) == 2
    assert [t.status for t in picpik.tasks(uids)] == ["Queuing", "Queuing"]
    bgmock.advance(60)
    details = picpik.tasks(uids)
    assert [t.task_uid for t in details] == uids
    assert all(t.status == "Finished" and t.img_list for t in details)
    assert picpik.task(uids[1]) == details[1]
    assert sent_bodies(recorder)[0]["Action"] == "RemoveBackgroundsInBatch"
    assert "remove_backgrounds_in_batch.response" in recorder.validated


def test_async_client_in_process() -> None:
    mock = InProcessMock()  # its app only ever sees this test's event loop

    async def flow() -> tuple[TaskDetail, bytes, list[str]]:
        admin = mock.async_client()

        async def advance(seconds: float) -> None:  # moves the clock from this loop
            (await admin.post("/__admin/clock/advance", json={"seconds": seconds})
             ).raise_for_status()

        recorder = AsyncRecorder(mock.async_transport, check_exchange)
        async with AsyncPicpikClient(PUBLIC, PRIVATE, mock.url("picpik"),
                                     transport=recorder) as client:
            uid = await client.remove_background(photo(), box=[50, 30, 150, 160])
            task = await client.wait(uid, sleep=advance)
            uids = await client.remove_backgrounds([photo()])
            assert [t.task_uid for t in await client.tasks(uids)] == uids
            assert (await client.task(uid)).status == "Finished"
            with pytest.raises(PicpikError) as caught:
                await client.tasks(["cjr997tleg738lelk3n00"])
            assert caught.value.ret_code == 230
            png = await client.download(task.img_list[0])
        assert client.http.is_closed
        await admin.aclose()
        return task, png, recorder.validated

    try:
        task, png, validated = asyncio.run(flow())
    finally:
        mock.close()
    assert task.status == "Finished" and open_image(png).size == (200, 180)
    assert validated[0] == "remove_background.response" and "error.response" in validated


# --- errors -----------------------------------------------------------------------------------


def test_unknown_key_bad_signature_unknown_uid(bgmock: InProcessMock) -> None:
    transport = recorder_of(bgmock.transport)
    with PicpikClient("nobody", PRIVATE, bgmock.url("picpik"), transport=transport) as client, \
            pytest.raises(PicpikError) as caught:
        client.remove_background(photo())
    error = caught.value
    assert (error.ret_code, error.code, error.message) == (172, "172", "User Not Exists")
    assert error.action == "RemoveBackground" and error.status == 200
    assert error.request_uuid == json.loads(transport.api()[0].content)["request_uuid"]
    assert isinstance(error, ProviderError) and "picpik error 172" in str(error)

    with PicpikClient(PUBLIC, "wrong", bgmock.url("picpik"), transport=bgmock.transport) as bad, \
            pytest.raises(PicpikError) as caught:
        bad.tasks(["ckti5nf2h4keq8mr9n00"])
    assert (caught.value.ret_code, caught.value.message) == (171, "Signature VerifyAC Error")

    with PicpikClient(PUBLIC, PRIVATE, bgmock.url("picpik"), transport=bgmock.transport) as ok:
        with pytest.raises(PicpikError) as caught:
            ok.wait("cjr997tleg738lelk3n00", sleep=bgmock.advance)
        assert caught.value.ret_code == 230 and "TaskUIDList" in caught.value.message
        with pytest.raises(PicpikError) as caught:
            ok.remove_background(photo(), erode_size=41)
        assert caught.value.ret_code == 230 and "ErodeSize" in caught.value.message


def test_the_docs_key_needs_no_private_key(bgmock: InProcessMock) -> None:
    with PicpikClient(DOCS_PUBLIC, "anything", bgmock.url("picpik"),
                      transport=bgmock.transport) as docs:
        (task,) = docs.tasks(["ckti5nf2h4keq8mr9n00"])
        assert task.status == "Finished" and open_image(docs.download(task.img_list[0]))


def test_a_failed_task_raises_and_time_runs_out(bgmock: InProcessMock,
                                                picpik: PicpikClient) -> None:
    bgmock.fault("picpik", "fail=boom", operation="remove_background", count=1)
    uid = picpik.remove_background(photo())
    with pytest.raises(PicpikTaskFailed) as caught:
        picpik.wait(uid, sleep=bgmock.advance)
    failed = caught.value
    assert failed.task.status == "Error" and failed.task_uid == uid
    assert failed.ret_code == failed.task.error_code != 0 and failed.message

    stuck = picpik.remove_background(photo())
    slept: list[float] = []
    with pytest.raises(PicpikTimeout) as timeout:
        picpik.wait(stuck, timeout=5, interval=1, sleep=slept.append)  # the clock stands still
    assert isinstance(timeout.value, PollTimeout) and isinstance(timeout.value, TimeoutError)
    assert timeout.value.status == "Queuing" and timeout.value.task_uid == stuck
    assert sum(slept) == pytest.approx(5)


def test_points_run_out(bgmock: InProcessMock, picpik: PicpikClient) -> None:
    bgmock.set_account("picpik", PUBLIC, credits=0)
    with pytest.raises(PicpikError) as caught:
        picpik.remove_backgrounds([photo()])
    assert caught.value.ret_code == 520


# --- over a real socket -----------------------------------------------------------------------


def test_sync_and_async_over_a_socket(bgmock_server: MockServer) -> None:
    url = bgmock_server.url("picpik")
    with httpx.Client(transport=recorder_of(httpx.HTTPTransport())) as http, \
            PicpikClient(PUBLIC, PRIVATE, url, http_client=http) as client:
        uid = client.remove_background(photo("jpeg"), only_mask=True)
        task = client.wait(uid, sleep=bgmock_server.advance)
        assert open_image(client.download(task.img_list[0])).mode == "L"
        with pytest.raises(PicpikError) as caught:
            client.tasks(["cjr997tleg738lelk3n00"])
        assert caught.value.ret_code == 230

    async def advance(seconds: float) -> None:
        await asyncio.to_thread(bgmock_server.advance, seconds)

    async def flow() -> bytes:
        async with AsyncPicpikClient(PUBLIC, PRIVATE, url) as client:
            uids = await client.remove_backgrounds([photo(), photo()])
            task = await client.wait(uids[1], sleep=advance)
            return await client.download(task.img_list[0])

    assert open_image(asyncio.run(flow())).mode == "RGBA"


# --- transport failures and foreign answers (respx, on the real host) --------------------------


def _client() -> PicpikClient:
    return PicpikClient(PUBLIC, PRIVATE)


@respx.mock
def test_connection_errors_are_httpx_errors() -> None:
    respx.post(f"{DEFAULT_BASE_URL}/").mock(side_effect=httpx.ConnectError("refused"))
    with _client() as client, pytest.raises(httpx.ConnectError):
        client.remove_background(photo())


@respx.mock
@pytest.mark.parametrize(("status", "content", "code"), [
    (502, b"<html>bad gateway</html>", 502),
    (200, b"not json", 200),
    (200, b'{"hello": "world"}', 200),
    (200, b'{"RetCode": 0, "Action": "RemoveBackground", "Message": "", "request_uuid": "x"}',
     200),  # a success without TaskUID breaks the contract
])
def test_foreign_answers_raise_with_the_http_status(status: int, content: bytes,
                                                    code: int) -> None:
    respx.post(f"{DEFAULT_BASE_URL}/").mock(return_value=httpx.Response(status,
                                                                         content=content))
    with _client() as client, pytest.raises(PicpikError) as caught:
        client.remove_background(photo())
    assert caught.value.ret_code == code and caught.value.status == status


@respx.mock
def test_an_error_envelope_on_the_real_host() -> None:
    respx.post(f"{DEFAULT_BASE_URL}/").mock(return_value=httpx.Response(200, json={
        "Action": "ListTasksDetails", "RetCode": 153, "Message": "rate limited",
        "request_uuid": "u"}))
    with _client() as client, pytest.raises(PicpikError) as caught:
        client.tasks(["ckti5nf2h4keq8mr9n00"])
    assert (caught.value.ret_code, caught.value.message, caught.value.request_uuid) == \
        (153, "rate limited", "u")


@respx.mock
def test_a_refused_download_names_the_storage_code() -> None:
    url = "https://api.picpik.ai/files/s3/picpik-results/x.png"
    respx.get(url).mock(return_value=httpx.Response(
        403, content=b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message>"
                     b"</Error>"))
    with _client() as client, pytest.raises(PicpikError) as caught:
        client.download(url)
    assert (caught.value.ret_code, caught.value.code, caught.value.message) == \
        (403, "AccessDenied", "Request has expired")


# --- any answer: a result or PicpikError, never another exception -----------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False,
                                                                       allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=10)
detail = st.fixed_dictionaries(
    {"TaskUID": json_values | st.just("ckti5nf2h4keq8mr9n00"),
     "Action": json_values | st.just("RemoveBackground"),
     "Status": json_values | st.sampled_from(["Queuing", "Running", "Finished", "Error"])},
    optional={"ImgList": json_values | st.lists(st.text(max_size=5), max_size=2),
              "ConsumeApiPoint": json_values, "ErrorCode": json_values,
              "ErrorMassage": json_values, "Seed": json_values, "TxtList": json_values})
answers = st.fixed_dictionaries(
    {"RetCode": json_values | st.sampled_from([0, 171, 230])},
    optional={"Action": json_values | st.just("ListTasksDetails"),
              "Message": json_values | st.just(""), "request_uuid": json_values | st.just("u"),
              "TaskUID": json_values, "TaskUIDList": json_values,
              "TaskDetailList": json_values | st.lists(detail, max_size=2)}) | json_values


@given(answers, st.sampled_from([200, 400, 500]))
@settings(max_examples=150, deadline=None)
def test_any_answer_gives_a_result_or_picpik_error(answer: Any, status: int) -> None:
    content = json.dumps(answer).encode()
    transport = httpx.MockTransport(lambda _: httpx.Response(status, content=content))
    with PicpikClient(PUBLIC, PRIVATE, "http://fake.test", transport=transport) as client:
        for call in (lambda: client.remove_background(b"x"), lambda: client.tasks(["a"]),
                     lambda: client.remove_backgrounds([b"x"]), lambda: client.task("a")):
            with contextlib.suppress(PicpikError):
                call()
