"""Hypothesis throws bodies, parameter values, signatures and methods at the PICPIK gateway, in
process and over a real socket: the answer is always HTTP 200 (405 for another method) in
PICPIK's envelope, matching its contract, never a 5xx or a server error's RetCode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bgmock.server.core import imaging
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgmock import contracts
from tests.picpik_calls import DOCS_KEY, GATEWAY, PicpikApi, data_uri, operation_of, picpik, signed

__all__ = ["picpik"]

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
TINY = data_uri(imaging.encode(imaging.synthetic_product("fuzz", 48, 40), "png"))
ACTIONS = ["RemoveBackground", "RemoveBackgroundsInBatch", "ListTasksDetails",
           "GetGenerateTaskDetail", "ListGenerateTaskDetail"]
VALID: dict[str, dict[str, Any]] = {
    "RemoveBackground": {"RawImage": TINY, "Box": [0, 0, 40, 30], "ErodeSize": 3,
                         "ForegroundThreshold": 240, "BackgroundThreshold": 15,
                         "HairOptimization": "on", "OnlyMask": False, "RemoveType": "Anime"},
    "RemoveBackgroundsInBatch": {"RawImages": [TINY], "ErodeSize": 0, "OnlyMask": True},
    "ListTasksDetails": {"TaskUIDList": ["ckti5nf2h4keq8mr9n00"]},
    "GetGenerateTaskDetail": {"TaskUID": "ckti5nf2h4keq8mr9n00"},
    "ListGenerateTaskDetail": {"TaskUIDs": ["ckti5nf2h4keq8mr9n00"]},
}
SCALARS = (st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=40)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.sampled_from([TINY, "data:image/jpeg;base64,xxx", "", "auto", "on", "Anime",
                              "General", "ckti5nf2h4keq8mr9n00", "aGVsbG8=", 15, 255, 40, 41]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)
FIELDS = st.sampled_from(["Action", "PublicKey", "Signature", "signature", "request_uuid",
                          "RawImage", "RawImages", "Box", "ErodeSize", "ForegroundThreshold",
                          "BackgroundThreshold", "HairOptimization", "OnlyMask", "RemoveType",
                          "TaskUIDList", "TaskUID", "TaskUIDs"]) | st.text(max_size=8)
SERVER_ERRORS = {150}  # what the mock answers when its own code fails (D182)


def envelope(response: httpx.Response, allowed: tuple[int, ...] = (200,)) -> dict[str, Any]:
    assert response.status_code in allowed, response.text
    body = response.json()
    action = body.get("Action") if isinstance(body, dict) else None
    operation = operation_of(action)
    if body.get("RetCode") == 0:
        assert operation is not None
    contracts.check_response("picpik", operation, body)
    assert body["RetCode"] not in SERVER_ERRORS, body
    return body


def settle(picpik: PicpikApi) -> None:
    """Tasks end between examples, so the key's open tasks never pile up."""
    picpik.engine.clock.advance(10)


@given(body=st.dictionaries(FIELDS, VALUES, max_size=8), sign=st.booleans())
@FUZZ
def test_arbitrary_bodies(picpik: PicpikApi, body: dict[str, Any], sign: bool) -> None:
    envelope(picpik.send(body, sign=sign))
    settle(picpik)


@given(action=st.sampled_from(ACTIONS), data=st.data())
@FUZZ
def test_each_parameter_with_any_value(picpik: PicpikApi, action: str, data: Any) -> None:
    """A valid signed body with one parameter replaced (or added): success, or 220/230 naming
    exactly that parameter."""
    body = {"Action": action, **VALID[action]}
    field = data.draw(st.sampled_from([*VALID[action], "request_uuid"]))
    value = data.draw(VALUES)
    body[field] = value
    caller = picpik
    if "TaskUID" in field or action.endswith("Detail") or action.endswith("Details"):
        caller = picpik.view(PicpikApi)  # the docs' tasks are the docs' key's (K16)
        caller.public_key = DOCS_KEY
    answer = envelope(caller.send(body))
    assert answer["RetCode"] in (0, 230, 520, 153), answer
    if answer["RetCode"] == 230:
        assert answer["Message"].startswith(f"Params [{field}] not available"), answer
    settle(picpik)


@given(signature=st.text(max_size=50) | st.from_regex(r"[0-9a-f]{40}", fullmatch=True),
       key=st.sampled_from(["Signature", "signature"]))
@FUZZ
def test_any_signature_but_the_right_one_is_refused(picpik: PicpikApi, signature: str,
                                                    key: str) -> None:
    body = {"Action": "ListTasksDetails", "PublicKey": "abcdefg", "TaskUIDList": ["x"],
            key: signature}
    answer = envelope(picpik.send(body, sign=False))
    assert answer["RetCode"] == (170 if signature == "" else 171)


@given(raw=st.binary(max_size=300),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                     "text/plain", "multipart/form-data", ""]))
@FUZZ
def test_raw_bodies(picpik: PicpikApi, raw: bytes, content_type: str) -> None:
    answer = envelope(picpik.post(GATEWAY, content=raw, headers={"Content-Type": content_type}))
    assert answer["RetCode"] in (160, 230, 161), answer


@given(method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]))
@FUZZ
def test_other_methods_are_405(picpik: PicpikApi, method: str) -> None:
    response = picpik.http.request(method, GATEWAY)
    assert response.status_code == 405
    if method != "HEAD":
        assert envelope(response, (405,))["RetCode"] == 230


@given(uids=st.lists(st.text(max_size=30) | st.from_regex(r"[0-9a-v]{20}", fullmatch=True),
                     min_size=1, max_size=5))
@FUZZ
def test_any_task_ids(picpik: PicpikApi, uids: list[str]) -> None:
    for action, field in (("ListTasksDetails", "TaskUIDList"), ("ListGenerateTaskDetail",
                                                                "TaskUIDs")):
        answer = envelope(picpik.send(signed({"Action": action, "PublicKey": "abcdefg",
                                              field: uids}), sign=False))
        assert answer["RetCode"] == 230 and f"[{field}]" in answer["Message"]


@pytest.mark.parametrize("depth", [990, 5000])
def test_a_deeply_nested_body_is_refused_not_crashed(picpik: PicpikApi, depth: int) -> None:
    nested = "[" * depth + "1" + "]" * depth
    raw = ('{"Action": "RemoveBackground", "PublicKey": "abcdefg", "Signature": "x", "Box": '
           + nested + "}")
    response = picpik.post(GATEWAY, content=raw, headers={"Content-Type": "application/json"})
    assert envelope(response)["RetCode"] == 230
