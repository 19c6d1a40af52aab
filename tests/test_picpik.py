"""PICPIK's gateway, signing, submits, points and queries, in-process and over a real socket
(decisions K1-K16, D180-D187)."""

from __future__ import annotations

import base64
import re

import pytest
from bgmock.server.providers.picpik import signing
from bgmock.server.providers.picpik.errors import MESSAGES

from bgmock import contracts
from tests.picpik_calls import (
    DOCS_KEY,
    GATEWAY,
    PRODUCT_PNG,
    PUBLIC_KEY,
    RAW,
    PicpikApi,
    picpik,
    sign_platform,
    signed,
)

__all__ = ["picpik"]  # the fixture, once per mode

XID = re.compile(r"^[0-9a-v]{20}$")
DOCS_REMOVE_BACKGROUND = contracts.load("picpik", "remove_background.request")["examples"][0]

# --- signing (K3): the sheet's four vectors on the server's signer ----------------------------

VECTORS = [
    ({"Action": "ListModels", "PublicKey": "abcdefg"},
     "ActionListModelsPublicKeyabcdefg123456", "4a20bc1141494035f6aaaad13224c94c5a8bc3a5"),
    ({"Action": "StartPicpikApp", "PublicKey": "abcdefg", "AppId": "your_app_id"},
     "ActionStartPicpikAppAppIdyour_app_idPublicKeyabcdefg123456",
     "c5e65ad1936ff695436917bf807d2281db33e7a3"),
    ({**{k: v for k, v in DOCS_REMOVE_BACKGROUND.items() if k != "Signature"},
      "PublicKey": "abcdefg"},
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
]


@pytest.mark.parametrize(("params", "content", "expected"), VECTORS,
                         ids=["published-docs", "published-repo", "remove-background",
                              "list-tasks"])
def test_the_signing_vectors(params, content, expected) -> None:
    assert signing.string_to_sign(params, "123456") == content
    assert signing.sign(params, "123456") == expected
    assert signing.sign({**params, "Signature": "x", "signature": "y"}, "123456") == expected
    assert sign_platform(params) == expected  # the tests' own signer agrees


def test_values_become_text_as_the_official_signer_writes_them() -> None:
    assert signing.text(True) == "true" and signing.text(False) == "false"
    assert signing.text(42.0) == "42" and signing.text(0.5) == "0.5"
    assert signing.text(1e-7) == "0.0000001"           # never scientific notation
    assert signing.text(None) == "" and signing.text("") == ""
    assert signing.text([1, [2, "a"]]) == "12a"
    assert signing.text({"b": 1, "a": {"d": False, "c": None}}) == "acdfalseb1"
    assert signing.pairs({"b": 1, "B": 2, "_": 3}) == "B2_3b1"  # byte order: upper case first


# --- the gateway (K1, K5, K6, K14) ------------------------------------------------------------

def test_a_signed_submit_answers_a_task_uid_and_echoes_action_and_uuid(picpik: PicpikApi) -> None:
    body = picpik.ok("RemoveBackground", RawImage=RAW, request_uuid="my-uuid-1")
    assert body["Message"] == "" and body["request_uuid"] == "my-uuid-1"
    assert XID.match(body["TaskUID"])


def test_without_request_uuid_the_answer_draws_one(picpik: PicpikApi) -> None:
    body = picpik.ok("RemoveBackground", RawImage=RAW)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}",
                        body["request_uuid"])


def test_lower_case_signature_is_accepted(picpik: PicpikApi) -> None:
    body = {"Action": "RemoveBackground", "PublicKey": PUBLIC_KEY, "RawImage": RAW}
    response = picpik.send({**body, "signature": sign_platform(body)}, sign=False)
    assert response.json()["RetCode"] == 0


def refusal(picpik: PicpikApi, body: dict, *, sign: bool = True, **kw) -> dict:
    response = picpik.send(body, sign=sign, **kw)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert contracts.check_response("picpik", None, answer) == "error.response"
    return answer


@pytest.mark.parametrize(("body", "sign", "code", "message"), [
    ({"PublicKey": PUBLIC_KEY}, True, 160, "Missing Action"),
    ({"Action": "", "PublicKey": PUBLIC_KEY}, True, 160, "Missing Action"),
    ({"Action": "ListModels", "PublicKey": PUBLIC_KEY}, True, 161, "Action Not Exists"),
    ({"Action": "GenerateImages", "PublicKey": PUBLIC_KEY}, True, 161, "Action Not Exists"),
    ({"Action": "RemoveBackground", "PublicKey": PUBLIC_KEY, "RawImage": RAW}, False, 170,
     "Missing signature"),
    ({"Action": "RemoveBackground", "PublicKey": PUBLIC_KEY, "RawImage": RAW,
      "Signature": "0" * 40}, False, 171, "Signature VerifyAC Error"),
    ({"Action": "RemoveBackground", "PublicKey": "nobody", "RawImage": RAW}, True, 172,
     "User Not Exists"),
    ({"Action": "RemoveBackground", "RawImage": RAW}, False, 172, "User Not Exists"),
    ({"Action": "RemoveBackground", "PublicKey": PUBLIC_KEY}, True, 220,
     "Missing params [RawImage]"),
    ({"Action": "ListTasksDetails", "PublicKey": PUBLIC_KEY}, True, 220,
     "Missing params [TaskUIDList]"),
    ({"Action": "RemoveBackground", "PublicKey": PUBLIC_KEY, "RawImage": RAW, "ErodeSize": 41},
     True, 230, "Params [ErodeSize] not available"),
])
def test_each_refusal_has_its_ret_code_and_message(picpik, body, sign, code, message) -> None:
    body = {**body, "request_uuid": "u-7"}
    if sign:
        body = signed(body)
    answer = refusal(picpik, body, sign=False)
    assert (answer["RetCode"], answer["Message"]) == (code, message)
    assert answer["Action"] == body.get("Action", "")       # K5: echoed, "" when none
    assert answer["request_uuid"] == "u-7"


def test_a_signature_made_with_another_private_key_is_refused(picpik: PicpikApi) -> None:
    body = {"Action": "RemoveBackground", "PublicKey": PUBLIC_KEY, "RawImage": RAW}
    assert refusal(picpik, signed(body, "654321"), sign=False)["RetCode"] == 171
    tampered = {**signed(body), "ErodeSize": 3}
    assert refusal(picpik, tampered, sign=False)["RetCode"] == 171


def test_a_wrong_method_is_405_and_the_envelope(picpik: PicpikApi) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = picpik.http.request(method, GATEWAY)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.json()["RetCode"] == 230


@pytest.mark.parametrize("content", [b"Action=RemoveBackground&PublicKey=abcdefg", b"{",
                                     b"[1, 2]", b'"text"', b"null", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_230_body(picpik: PicpikApi, content) -> None:
    response = picpik.post(GATEWAY, content=content,
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["RetCode"], answer["Message"]) == (230, "Params [body] not available")
    contracts.validate("picpik", "error.response", answer)


def test_an_unknown_path_is_404_and_the_envelope(picpik: PicpikApi) -> None:
    response = picpik.post("/picpik/v1/x", json={})
    assert response.status_code == 404
    assert response.json()["RetCode"] == 161


@pytest.mark.parametrize("host", ["api.picpik.ai", "api.picpikai.com"])
def test_the_real_hosts_reach_picpik_without_prefix(picpik: PicpikApi, host: str) -> None:
    body = signed({"Action": "RemoveBackground", "PublicKey": PUBLIC_KEY, "RawImage": RAW})
    response = picpik.http.post("/", json=body, headers={"Host": host})
    assert response.json()["RetCode"] == 0
    (detail,) = picpik.details(response.json()["TaskUID"])
    assert detail["Status"] == "Queuing"


def test_the_docs_example_request_succeeds_verbatim(picpik: PicpikApi) -> None:
    """K16: the docs' key has signature checking off; its placeholder image stands for the
    docs' demo photo (D183), so the task finishes with a real cut-out."""
    response = picpik.post(GATEWAY, json=DOCS_REMOVE_BACKGROUND)
    body = picpik.answer("remove_background", response)
    assert body["RetCode"] == 0 and body["request_uuid"] == DOCS_REMOVE_BACKGROUND["request_uuid"]
    docs = picpik.view(PicpikApi)
    docs.public_key = DOCS_KEY
    image = docs.result(body["TaskUID"])
    assert image.mode == "RGBA" and image.size == (720, 720)


def test_the_docs_batch_and_query_examples_succeed_verbatim(picpik: PicpikApi) -> None:
    batch = contracts.load("picpik", "remove_backgrounds_in_batch.request")["examples"][0]
    body = picpik.answer("remove_backgrounds_in_batch", picpik.post(GATEWAY, json=batch))
    assert body["RetCode"] == 0 and len(body["TaskUIDList"]) == 2
    query = contracts.load("picpik", "list_tasks_details.request")["examples"][0]
    body = picpik.answer("list_tasks_details", picpik.post(GATEWAY, json=query))
    (detail,) = body["TaskDetailList"]
    assert detail["TaskUID"] == "ckti5nf2h4keq8mr9n00" and detail["Status"] == "Finished"
    assert picpik.image(detail["ImgList"][0]).mode == "RGBA"


def test_signature_checking_can_be_turned_off_per_key(picpik: PicpikApi) -> None:
    body = {"Action": "RemoveBackground", "PublicKey": PUBLIC_KEY, "RawImage": RAW}
    assert refusal(picpik, body, sign=False)["RetCode"] == 170
    picpik.controls.set_account("picpik", PUBLIC_KEY, extra={"check_signature": 0})
    assert picpik.send(body, sign=False).json()["RetCode"] == 0
    assert picpik.send({**body, "Signature": "junk"}, sign=False).json()["RetCode"] == 0


def test_a_new_key_through_the_admin_api_signs_with_its_private_key(picpik: PicpikApi) -> None:
    picpik.controls.set_account("picpik", "pk-new", secret="sk-new")
    other = picpik.view(PicpikApi)
    other.public_key, other.private_key = "pk-new", "sk-new"
    assert other.submit()
    assert picpik.controls.account("picpik", "pk-new")["credits"] == 1000


# --- RawImage (K10, K15, D183) ----------------------------------------------------------------

def test_raw_image_as_bare_base64(picpik: PicpikApi) -> None:
    assert picpik.submit(base64.b64encode(PRODUCT_PNG).decode())


def test_raw_image_with_line_breaks(picpik: PicpikApi) -> None:
    encoded = base64.encodebytes(PRODUCT_PNG).decode()  # MIME style: a break every 76 chars
    assert picpik.submit("data:image/png;base64," + encoded)


@pytest.mark.parametrize("raw", ["", "!!!", "data:image/png;base64,@@@",
                                 base64.b64encode(b"not an image at all").decode(),
                                 "data:image/jpeg;base64,xxxx"])
def test_a_raw_image_that_is_no_image_is_230(picpik: PicpikApi, raw: str) -> None:
    answer = picpik.act("RemoveBackground", RawImage=raw)
    assert (answer["RetCode"], answer["Message"]) == (230, "Params [RawImage] not available")


def test_raw_image_over_the_decoded_limit_is_230() -> None:
    from bgmock.server.settings import Settings
    from bgmock.server.testing import InProcessMock

    mock = InProcessMock(Settings(clock="virtual", picpik_max_image_bytes=len(PRODUCT_PNG) - 1))
    try:
        api = PicpikApi("inprocess", mock.client(), mock, mock.engine)
        answer = api.act("RemoveBackground", RawImage=RAW)
        assert (answer["RetCode"], answer["Message"]) == (230, "Params [RawImage] not available")
        answer = api.act("RemoveBackgroundsInBatch", RawImages=[RAW])
        assert answer["Message"] == "Params [RawImages] not available"
    finally:
        mock.close()


# --- every bad value is 230 naming its field (K6, K10) ---------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("ErodeSize", -1), ("ErodeSize", 41), ("ErodeSize", "15"), ("ErodeSize", 1.5),
    ("ForegroundThreshold", 256), ("ForegroundThreshold", -1), ("BackgroundThreshold", 300),
    ("BackgroundThreshold", None), ("HairOptimization", "yes"), ("HairOptimization", "On"),
    ("OnlyMask", "true"), ("OnlyMask", 1), ("RemoveType", "Cartoon"), ("Box", [1, 2, 3]),
    ("Box", [1, 2, 3, 4, 5]), ("Box", "1,2,3,4"), ("Box", [1, 2, 3.5, 4]), ("Box", [-1, 0, 5, 5]),
    ("Box", [10, 10, 5, 20]), ("Box", [10, 10, 20, 10]), ("RawImage", 12), ("request_uuid", 7),
])
def test_a_bad_value_is_230_naming_the_field(picpik: PicpikApi, field: str, value) -> None:
    params = {"RawImage": RAW, field: value}
    answer = picpik.act("RemoveBackground", **params)
    assert (answer["RetCode"], answer["Message"]) == (230, f"Params [{field}] not available")


@pytest.mark.parametrize(("field", "value"), [
    ("RawImages", []), ("RawImages", "x"), ("RawImages", [RAW] * 11), ("RawImages", [RAW, 5]),
    ("ErodeSize", 99), ("HairOptimization", "maybe"), ("OnlyMask", None)])
def test_a_bad_batch_value_is_230_naming_the_field(picpik: PicpikApi, field, value) -> None:
    answer = picpik.act("RemoveBackgroundsInBatch", **{"RawImages": [RAW], field: value})
    assert (answer["RetCode"], answer["Message"]) == (230, f"Params [{field}] not available")


def test_integral_floats_count_as_integers(picpik: PicpikApi) -> None:
    assert picpik.submit(ErodeSize=15.0, Box=[1.0, 2, 300, 200])


# --- tasks on the mock clock (K7, K9) ---------------------------------------------------------

def test_a_task_goes_queuing_running_finished_on_the_clock(picpik: PicpikApi) -> None:
    uid = picpik.submit()
    assert picpik.details(uid)[0]["Status"] == "Queuing"
    picpik.controls.advance(1.5)
    assert picpik.details(uid)[0]["Status"] == "Running"
    picpik.controls.advance(3)
    (detail,) = picpik.details(uid)
    assert detail["Status"] == "Finished"
    assert detail["ConsumeApiPoint"] == 1 and detail["ErrorCode"] == 0
    assert detail["ErrorMassage"] == "" and detail["Action"] == "RemoveBackground"
    assert len(detail["ImgList"]) == 1 and "/files/" in detail["ImgList"][0]


def test_task_uids_are_xids_and_unique(picpik: PicpikApi) -> None:
    uids = [picpik.submit() for _ in range(5)]
    assert all(XID.match(uid) for uid in uids) and len(set(uids)) == 5


def test_the_batch_answers_one_task_per_image_in_order(picpik: PicpikApi) -> None:
    from bgmock.server.core import imaging

    from tests.picpik_calls import data_uri

    sizes = [(200, 100), (120, 160), (90, 90)]
    raws = [data_uri(imaging.encode(imaging.synthetic_product(str(s), *s), "png"))
            for s in sizes]
    body = picpik.ok("RemoveBackgroundsInBatch", RawImages=raws, ErodeSize=0)
    uids = body["TaskUIDList"]
    assert len(uids) == 3 and len(set(uids)) == 3
    picpik.controls.advance(10)
    details = picpik.details(*uids)
    assert [d["TaskUID"] for d in details] == uids
    assert all(d["Action"] == "RemoveBackgroundsInBatch" for d in details)
    assert [picpik.image(d["ImgList"][0]).size for d in details] == sizes


def test_results_expire_24_hours_after_the_task_finished(picpik: PicpikApi) -> None:
    uid = picpik.submit()
    (url,) = picpik.finished(uid)["ImgList"]
    picpik.controls.advance(3600)
    assert picpik.details(uid)[0]["ImgList"] == [url]       # the same URL on every query
    assert picpik.http.get(url).status_code == 200
    picpik.controls.advance(86400)
    assert picpik.http.get(url).status_code == 403
    assert picpik.details(uid)[0]["Status"] == "Finished"   # the record stays (D185)


# --- queries (K12, K13, legacy) ---------------------------------------------------------------

def test_an_unknown_task_uid_fails_the_whole_query_naming_it(picpik: PicpikApi) -> None:
    uid = picpik.submit()
    answer = picpik.act("ListTasksDetails", TaskUIDList=[uid, "cjr997tleg738lelk3nzz"])
    assert answer["RetCode"] == 230
    assert answer["Message"] == ("Params [TaskUIDList] not available: "
                                 "no task cjr997tleg738lelk3nzz")


def test_another_keys_task_is_unknown(picpik: PicpikApi) -> None:
    answer = picpik.act("ListTasksDetails", TaskUIDList=["ckti5nf2h4keq8mr9n00"])
    assert answer["RetCode"] == 230                          # the docs' key's task


def test_too_many_ids_are_230(picpik: PicpikApi) -> None:
    answer = picpik.act("ListTasksDetails", TaskUIDList=["a"] * 101)
    assert answer["Message"] == "Params [TaskUIDList] not available"


def test_the_legacy_queries_have_their_own_names(picpik: PicpikApi) -> None:
    uid = picpik.submit()
    body = picpik.ok("GetGenerateTaskDetail", TaskUID=uid)
    assert body["TaskStatus"] == "Queuing" and body["TaskType"] == "TaskRemoveBackground"
    assert body["FinalPictureUrls"] == [] and body["TaskErrorCode"] == 0
    picpik.controls.advance(10)
    body = picpik.ok("ListGenerateTaskDetail", TaskUIDs=[uid, uid])
    assert [d["TaskUid"] for d in body["TaskDetailList"]] == [uid, uid]
    assert body["TaskDetailList"][0]["TaskStatus"] == "Finished"
    assert len(body["TaskDetailList"][0]["FinalPictureUrls"]) == 1
    answer = picpik.act("GetGenerateTaskDetail", TaskUID="nope")
    assert answer["Message"] == "Params [TaskUID] not available: no task nope"
    answer = picpik.act("ListGenerateTaskDetail", TaskUIDs=["nope"])
    assert answer["Message"] == "Params [TaskUIDs] not available: no task nope"


@pytest.mark.parametrize("fault", ["fail", "fail=model exploded", "fail_at=Queuing",
                                   "fail_at=Running"])
def test_a_failed_task_reports_error_500_and_charges_nothing(picpik: PicpikApi, fault) -> None:
    uid = picpik.submit(headers={"X-Mock-Fault": fault})
    picpik.controls.advance(10)
    (detail,) = picpik.details(uid)
    assert detail["Status"] == "Error" and detail["ErrorCode"] == 500
    assert detail["ErrorMassage"] == ("model exploded" if "=model" in fault
                                      else "image processing failed")
    assert detail["ImgList"] == [] and detail["ConsumeApiPoint"] == 0
    legacy = picpik.ok("GetGenerateTaskDetail", TaskUID=uid)
    assert (legacy["TaskStatus"], legacy["TaskErrorCode"]) == ("Error", 500)
    assert legacy["TaskErrorMsg"] == detail["ErrorMassage"]
    assert picpik.controls.account("picpik", PUBLIC_KEY)["credits"] == 1000


def test_fail_at_queuing_never_runs(picpik: PicpikApi) -> None:
    uid = picpik.submit(headers={"X-Mock-Fault": "fail_at=Queuing"})
    picpik.controls.advance(0.5)
    assert picpik.details(uid)[0]["Status"] == "Queuing"
    picpik.controls.advance(0.6)
    assert picpik.details(uid)[0]["Status"] == "Error"


def test_a_stuck_task_stays_running(picpik: PicpikApi) -> None:
    uid = picpik.submit(headers={"X-Mock-Fault": "stuck=Running"})
    picpik.controls.advance(3600)
    assert picpik.details(uid)[0]["Status"] == "Running"


def test_an_image_that_does_not_decode_fails_the_task(picpik: PicpikApi) -> None:
    from tests.picpik_calls import data_uri

    uid = picpik.submit(data_uri(PRODUCT_PNG[:60]))           # a PNG header, then nothing
    (detail,) = [picpik.finished(uid)]
    assert detail["Status"] == "Error" and detail["ErrorCode"] == 500
    assert "decode" in detail["ErrorMassage"]


# --- points (K15) -----------------------------------------------------------------------------

def points(picpik: PicpikApi) -> float:
    return picpik.controls.account("picpik", PUBLIC_KEY)["credits"]


def test_points_start_at_1000_and_one_goes_per_image_on_success(picpik: PicpikApi) -> None:
    assert points(picpik) == 1000
    picpik.ok("RemoveBackgroundsInBatch", RawImages=[RAW, RAW, RAW])
    picpik.submit()
    picpik.controls.advance(10)
    assert points(picpik) == 996


def test_520_when_the_points_do_not_cover_the_images(picpik: PicpikApi) -> None:
    picpik.controls.set_account("picpik", PUBLIC_KEY, credits=2)
    answer = picpik.act("RemoveBackgroundsInBatch", RawImages=[RAW, RAW, RAW])
    assert (answer["RetCode"], answer["Message"]) == (520, "Insufficient Balance")
    assert picpik.controls.tasks("picpik") == [t for t in picpik.controls.tasks("picpik")
                                                if t["owner"] == DOCS_KEY]  # none created
    picpik.submit()
    picpik.submit()                                    # both points now reserved
    assert picpik.act("RemoveBackground", RawImage=RAW)["RetCode"] == 520


# --- faults (K6, D187) ------------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_ret_code_through_the_fault_header(picpik: PicpikApi, code: int) -> None:
    answer = picpik.act("RemoveBackground", RawImage=RAW, request_uuid="f-1",
                        headers={"X-Mock-Fault": f"error={code}"})
    assert answer["RetCode"] == code
    assert answer["Message"] == MESSAGES[code].format("RawImage")
    assert answer["request_uuid"] == "f-1"


def test_153_through_a_rate_limit_rule_for_a_few_requests(picpik: PicpikApi) -> None:
    picpik.controls.fault("picpik", "error=153", operation="list_tasks_details",
                          key=PUBLIC_KEY, count=2)
    uid = picpik.submit()
    codes = [picpik.act("ListTasksDetails", TaskUIDList=[uid])["RetCode"] for _ in range(3)]
    assert codes == [153, 153, 0]


def test_an_unknown_fault_code_is_the_mocks_400(picpik: PicpikApi) -> None:
    response = picpik.send({"Action": "RemoveBackground", "RawImage": RAW},
                           headers={"X-Mock-Fault": "error=999"})
    assert response.status_code == 400 and "bgmockError" in response.json()


def test_the_journal_names_the_action(picpik: PicpikApi) -> None:
    picpik.submit()
    picpik.act("ListModels")
    entries = picpik.controls.journal("picpik")
    assert [e["operation"] for e in entries][-2:] in (["remove_background", ""],
                                                      ["", "remove_background"])


def test_reset_brings_back_the_fresh_state(picpik: PicpikApi) -> None:
    uid = picpik.submit()
    picpik.controls.reset()
    assert picpik.act("ListTasksDetails", TaskUIDList=[uid])["RetCode"] == 230
    assert points(picpik) == 1000


def test_the_openapi_document_is_served(picpik: PicpikApi) -> None:
    document = picpik.get("/picpik/openapi.json").json()
    post = document["paths"]["/"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["discriminator"]["propertyName"] == "Action"
    assert set(schema["discriminator"]["mapping"]) == {
        "RemoveBackground", "RemoveBackgroundsInBatch", "ListTasksDetails",
        "GetGenerateTaskDetail", "ListGenerateTaskDetail"}


# --- configuration, bounds ----------------------------------------------------------------------

def test_config_file_accounts_with_points_and_the_signature_switch() -> None:
    from bgmock.server.settings import Settings
    from bgmock.server.testing import InProcessMock

    accounts = {"picpik": [{"public_key": "pk1", "private_key": "sk1", "points": 1},
                           {"public_key": "pk2", "private_key": "sk2", "check_signature": 0}]}
    mock = InProcessMock(Settings(clock="virtual", accounts=accounts, picpik_points=7))
    try:
        one = PicpikApi("inprocess", mock.client(), mock, mock.engine)
        one.public_key, one.private_key = "pk1", "sk1"
        one.submit()
        assert one.act("RemoveBackground", RawImage=RAW)["RetCode"] == 520  # 1 point only
        unsigned = {"Action": "RemoveBackground", "PublicKey": "pk2", "RawImage": RAW}
        assert one.send(unsigned, sign=False).json()["RetCode"] == 0  # checking off
        assert mock.account("picpik", "abcdefg")["credits"] == 7   # picpik_points
    finally:
        mock.close()


@pytest.mark.parametrize(("spec", "problem"), [
    ({"public_key": "pk"}, "accounts.picpik[0].private_key: required"),
    ({"public_key": "pk", "private_key": "s", "check_signature": 2},
     "accounts.picpik[0].check_signature: must be in 0..1"),
    ({"public_key": "pk", "private_key": "s", "points": -1},
     "accounts.picpik[0].points: must be in 0..1000000000"),
])
def test_a_bad_config_account_names_its_field(spec, problem) -> None:
    from bgmock.server.settings import Settings
    from bgmock.server.testing import InProcessMock

    with pytest.raises(ValueError, match=re.escape(problem)):
        InProcessMock(Settings(clock="virtual", accounts={"picpik": [spec]}))


def test_a_body_over_the_limit_is_230_body() -> None:
    from bgmock.server.settings import Settings
    from bgmock.server.testing import InProcessMock

    mock = InProcessMock(Settings(clock="virtual", picpik_max_image_bytes=1000))
    try:
        api = PicpikApi("inprocess", mock.client(), mock, mock.engine)
        response = api.send({"Action": "RemoveBackground", "RawImage": "A" * 2 * 1024 * 1024})
        answer = response.json()                       # refused unread: no Action to echo
        assert (answer["RetCode"], answer["Message"]) == (230, "Params [body] not available")
        assert response.status_code == 200 and answer["Action"] == ""
    finally:
        mock.close()


def test_the_unfinished_task_cap_is_153(picpik: PicpikApi) -> None:
    picpik.controls.set_account("picpik", PUBLIC_KEY, concurrency=2)
    picpik.submit(headers={"X-Mock-Fault": "stuck"})
    assert picpik.act("RemoveBackgroundsInBatch", RawImages=[RAW, RAW])["RetCode"] == 153
    picpik.submit(headers={"X-Mock-Fault": "stuck"})
    assert picpik.act("RemoveBackground", RawImage=RAW)["RetCode"] == 153
    mine = [t for t in picpik.controls.tasks("picpik") if t["owner"] == PUBLIC_KEY]
    assert len(mine) == 2                              # the refused batch created none


def test_a_task_can_finish_on_the_nth_poll(picpik: PicpikApi) -> None:
    uid = picpik.submit(headers={"X-Mock-Fault": "polls=3"})
    statuses = [picpik.details(uid)[0]["Status"] for _ in range(3)]
    assert statuses == ["Queuing", "Running", "Finished"]


def test_every_ret_code_through_an_admin_rule(picpik: PicpikApi) -> None:
    uid = picpik.submit()
    for code in sorted(MESSAGES):
        picpik.controls.fault("picpik", f"error={code}", operation="list_tasks_details",
                              key=PUBLIC_KEY, count=1)
        answer = picpik.act("ListTasksDetails", TaskUIDList=[uid])
        assert (answer["RetCode"], answer["Message"]) == (
            code, MESSAGES[code].format("TaskUIDList"))
    assert picpik.act("ListTasksDetails", TaskUIDList=[uid])["RetCode"] == 0  # all used up
