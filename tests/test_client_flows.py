"""One body per client call: the flows in client/_common.py and the provider bases, driven by
the sync and async classes, which only do I/O."""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
import threading
from typing import Any

import httpx
import pytest
from bgmock.client import topview as topview_module
from bgmock.client._common import Blocking, Flow, Sleep, arun, run
from bgmock.client.aidge import AidgeClient, AsyncAidgeClient
from bgmock.client.runware import AsyncRunwareClient, RunwareClient
from bgmock.client.topview import AsyncTopviewClient, TopviewClient, TopviewError

PAIRS = [(TopviewClient, AsyncTopviewClient), (AidgeClient, AsyncAidgeClient),
         (RunwareClient, AsyncRunwareClient)]
ENVELOPE = {"code": "200", "message": "Success", "result": {"remainCredit": 7, "uid": "u"}}


def _public(cls: type) -> dict[str, Any]:
    return {name: fn for name, fn in vars(cls).items()
            if callable(fn) and not name.startswith("_")}


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=["topview", "aidge", "runware"])
def test_sync_and_async_clients_hold_one_line_methods_only(sync: type, async_: type) -> None:
    assert set(_public(sync)) == set(_public(async_))
    for cls in (sync, async_):
        for name, fn in _public(cls).items():
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
            body = tree.body[0].body  # type: ignore[attr-defined]
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring
            assert len(body) == 1 and isinstance(body[0], ast.Return), f"{cls.__name__}.{name}"


def _flow(log: list[Any]) -> Flow[str]:
    got = yield Blocking(threading.get_ident)
    log.append(got)
    log.append((yield Sleep(2.5)))
    response = yield httpx.Request("GET", "http://x.test/")
    return response


def test_run_and_arun_answer_the_same_steps() -> None:
    sync_log: list[Any] = []
    slept: list[float] = []

    def perform(step: Any) -> Any:
        if isinstance(step, Sleep):
            slept.append(step.seconds)
            return "slept"
        if isinstance(step, Blocking):
            return step.fn(*step.args)
        return f"sent {step.url}"

    assert run(_flow(sync_log), perform) == "sent http://x.test/"
    assert sync_log == [threading.get_ident(), "slept"] and slept == [2.5]

    async def aperform(step: Any) -> Any:
        return perform(step)

    async_log: list[Any] = []
    assert asyncio.run(arun(_flow(async_log), aperform)) == "sent http://x.test/"
    assert async_log[1] == "slept" and slept == [2.5, 2.5]


def test_the_async_client_reads_files_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    prepare = topview_module._prepare

    def spy(*args: Any) -> Any:
        threads.append(threading.get_ident())
        return prepare(*args)

    monkeypatch.setattr(topview_module, "_prepare", spy)

    async def main() -> int:
        client = AsyncTopviewClient("uid", "key", "http://fake.test",
                                    transport=httpx.MockTransport(lambda r: httpx.Response(500)))
        async with client:
            with pytest.raises(TopviewError):
                await client.upload(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert len(threads) == 1 and threads[0] != loop_thread
    with TopviewClient("uid", "key", "http://fake.test", transport=httpx.MockTransport(
            lambda r: httpx.Response(500))) as topview, pytest.raises(TopviewError):
        topview.upload(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    assert threads[1] == threading.get_ident()  # the sync client simply calls it


def test_a_wrong_wait_option_fails_before_anything_is_sent() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=ENVELOPE)

    with TopviewClient("uid", "key", "http://fake.test",
                       transport=httpx.MockTransport(handler)) as topview:
        with pytest.raises(TypeError):
            topview.remove_background_and_wait("file", timeout_s=3)
        assert sent == []
        assert topview.credit() == 7 and len(sent) == 1


def test_the_client_judges_an_envelope_by_the_contract() -> None:
    """Topview's ``code`` is a string: an integer 200 is not its success (contracts.answers)."""
    numeric = {**ENVELOPE, "code": 200}
    with TopviewClient("uid", "key", "http://fake.test", transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json=numeric))) as topview, pytest.raises(
            TopviewError) as caught:
        topview.credit()
    assert caught.value.code == "200" and caught.value.message == "Success"
