"""The request path's shortcuts (issue 8) give exactly what the general path gives."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qsl

import pytest
from bgmock.server import server
from bgmock.server.core.clock import Clock
from bgmock.server.core.edge import Unreadable, _query, parse_json
from bgmock.server.core.files import FileStore
from bgmock.server.core.jsonbody import FastJSONResponse
from bgmock.server.settings import Settings, resolve
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from bgmock import contracts

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, width=32) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20)


@given(JSON)
def test_answers_encode_as_starlette_would(value: Any) -> None:
    fast, general = FastJSONResponse(value), JSONResponse(value)
    assert json.loads(fast.body) == json.loads(general.body)
    assert fast.headers["content-length"] == str(len(fast.body))
    assert fast.headers["content-type"] == general.headers["content-type"] == "application/json"
    if not _has_float(value):  # a float's exponent may be spelled differently; the rest not
        assert fast.body == general.body and fast.raw_headers == general.raw_headers


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    return isinstance(value, list) and any(_has_float(v) for v in value)


def test_what_orjson_cannot_write_falls_back_to_starlette() -> None:
    for value in ({1: "a"}, {"n": 2**70}):
        assert FastJSONResponse(value).body == JSONResponse(value).body


@pytest.mark.parametrize("text", [b'{"a": NaN}', b"[Infinity]", b'{"a": -Infinity}'])
def test_nan_and_infinity_are_not_json(text: bytes) -> None:
    with pytest.raises(Unreadable, match="not a JSON value"):
        parse_json(text)


QUERY_TEXT = st.text(st.sampled_from("ab=&%+2 0é\x00;"), max_size=30)


@given(QUERY_TEXT)
def test_query_strings_parse_as_parse_qsl_does(text: str) -> None:
    expected: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        expected.setdefault(key, value)
    assert _query(text.encode("latin-1")) == expected


REQUEST_SCHEMAS = [(p, n) for p in contracts.providers() for n in contracts.names(p)
                   if n.endswith(".request")]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(REQUEST_SCHEMAS), JSON, st.data())
def test_the_compiled_validator_never_passes_what_jsonschema_refuses(
        schema: tuple[str, str], value: Any, data: st.DataObject) -> None:
    provider, name = schema
    if isinstance(value, dict) and data.draw(st.booleans()):  # near misses of real inputs
        value = {**_example(provider, name), **value}
    fast = contracts._fast_validator(provider, name)
    if fast.is_valid(value):
        assert contracts._errors(provider, name, value) == []
    assert (contracts.errors(provider, name, value) == []) == \
        (contracts._errors(provider, name, value) == [])


def _example(provider: str, name: str) -> dict[str, Any]:
    examples = contracts.load(provider, name).get("examples") or [{}]
    return dict(examples[0]) if isinstance(examples[0], dict) else {}


def test_derived_work_is_done_once_per_stored_object_and_counted() -> None:
    calls: list[bytes] = []
    store = FileStore(Clock("virtual", start=0), max_bytes=1 << 20)

    def double(data: bytes, times: int) -> bytes:
        calls.append(data)
        return data * times

    async def scenario() -> None:
        obj = store.put("b", "k", b"abc", "x")
        assert await store.derive(obj, double, 2) == b"abcabc"
        assert await store.derive(obj, double, 2) == b"abcabc" and len(calls) == 1
        assert store.total_bytes == 3 + 6 and obj.size == 9
        assert await store.derive(obj, double, 3) == b"abc" * 3 and len(calls) == 2
        fresh = store.put("b", "k", b"xyz", "x")  # a new PUT: new bytes, new work
        assert await store.derive(fresh, double, 2) == b"xyzxyz" and len(calls) == 3
        assert store.total_bytes == 3 + 6
        store.delete("b", "k")
        assert store.total_bytes == 0

    asyncio.run(scenario())


def test_the_access_log_is_off_unless_asked() -> None:
    assert server.config(object(), Settings()).access_log is False
    assert server.config(object(), Settings(access_log=True)).access_log is True
    assert resolve({}, environ={"BGMOCK_ACCESS_LOG": "1"}).access_log is True
    assert resolve({"access_log": "true"}, environ={}).access_log is True


def test_start_up_imports_nothing_it_does_not_need() -> None:
    # numpy (~0.1 s), PyAV, FastAPI (the admin app) and httpx (webhooks) come with first use:
    # cold start is measured to the first 200 (D150, D167, issue 8's cold-start row)
    code = ("import sys, uvicorn, bgmock.server.cli\n"
            "from bgmock.server.app import create_app\n"
            "create_app()\n"
            "print(sorted(m for m in ('numpy', 'av', 'fastapi', 'httpx', 'jsonschema_rs')"
            " if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_callers_arriving_while_derived_work_runs_share_it() -> None:
    calls: list[bytes] = []
    store = FileStore(Clock("virtual", start=0), max_bytes=1 << 20)

    def upper(data: bytes) -> bytes:
        calls.append(data)
        return data.upper()

    async def scenario() -> None:
        obj = store.put("b", "k", b"abc", "x")
        results = await asyncio.gather(*(store.derive(obj, upper) for _ in range(20)))
        assert results == [b"ABC"] * 20 and len(calls) == 1

    asyncio.run(scenario())


def test_derived_work_that_fails_is_not_kept() -> None:
    store = FileStore(Clock("virtual", start=0), max_bytes=1 << 20)
    attempts: list[int] = []

    def flaky(data: bytes) -> bytes:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first time")
        return data

    async def scenario() -> None:
        obj = store.put("b", "k", b"abc", "x")
        with pytest.raises(ValueError):
            await store.derive(obj, flaky)
        assert await store.derive(obj, flaky) == b"abc" and len(attempts) == 2

    asyncio.run(scenario())


def test_long_lists_are_cut_before_jsonschema_words_a_refusal(monkeypatch) -> None:
    seen: list[int] = []
    original = contracts._errors

    def spy(provider: str, name: str, instance: Any) -> list[Any]:
        seen.append(len(instance["location"]))
        return original(provider, name, instance)
    monkeypatch.setattr(contracts, "_errors", spy)
    body = {"productImageWithoutBackgroundFileId": "a" * 32, "mode": "image",
            "templateImageFileId": "b" * 32, "location": [[0.3, 0.3]] * 200_000}
    found = contracts.errors("topview", "product_background_submit.request", body)
    assert found and found[0].validator == "maxItems"
    assert seen == [contracts.CLIP_ITEMS + 1]          # jsonschema never saw the 200,000
    assert len(body["location"]) == 200_000            # the input itself is untouched


def test_cutting_lists_keeps_what_is_short_and_is_bounded() -> None:
    short = {"a": [1, 2, 3], "b": {"c": [[1], [2]]}}
    assert contracts._clip_lists(short, [contracts.CLIP_NODES]) is short   # nothing to cut
    cut = contracts._clip_lists({"a": [[0] * 1000] * 1000}, [contracts.CLIP_NODES])
    assert len(cut["a"]) == contracts.CLIP_ITEMS + 1
    assert all(len(row) == contracts.CLIP_ITEMS + 1 for row in cut["a"])
    deep = contracts._clip_lists([[[0] * 100] * 100] * 100, [500])          # budget spent
    assert sum(len(row) for block in deep for row in block) <= 500 + contracts.CLIP_ITEMS + 1


def test_a_topview_body_over_1_mib_is_refused_unread() -> None:
    from bgmock.server.testing import InProcessMock

    from tests.topview_calls import DEMO, SUBMIT
    mock = InProcessMock(Settings(clock="virtual"))
    try:
        with mock.client() as http:
            answer = http.post(SUBMIT, headers={**DEMO, "Content-Type": "application/json"},
                               content=b'{"productImageFileId": "' + b"a" * (1 << 20) + b'"}')
    finally:
        mock.close()
    assert answer.status_code == 200 and answer.json()["code"] == "4001"
