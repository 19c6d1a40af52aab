"""The drift report (issue 12, parts 3 and 5): a clean mock shows none; the drifted target
shows exactly the three planted differences; noise is compared by type only."""

from __future__ import annotations

import asyncio
import contextlib
import copy

import pytest
from bgmock.check.context import Context
from bgmock.check.drift import (
    KINDS,
    Drift,
    DriftReport,
    answer_drift,
    exchange_drift,
    noise,
    status_drift,
)
from bgmock.check.model import Check
from bgmock.check.observe import Exchange, operations_of
from bgmock.check.runner import run_checks
from bgmock.check.targets import InprocTarget
from bgmock.client.topview import AsyncTopviewClient, TopviewError
from hypothesis import given, settings
from hypothesis import strategies as st

from bgmock import contracts
from tests.check_drifted import PLANTED, drifted_app


async def topview_tour(ctx: Context) -> None:
    """Credit, a removal to its end, a wrong key: one of each answer the fixture changes.
    Each step goes on whatever the one before made of its answer (the client may choke on a
    drifted one)."""
    topview = ctx.client(AsyncTopviewClient)
    with contextlib.suppress(KeyError):  # no remainCredit on the drifted target
        await topview.credit()
    task = await topview.remove_background(await topview.upload(ctx.image()))
    await topview.wait(task, sleep=ctx.sleep)
    with pytest.raises(TopviewError):
        await ctx.client(AsyncTopviewClient, api_key="sk-wrong").credit()


TOUR = Check("topview.tour", "topview", "remove_background_submit", topview_tour)


def drift_of(target: InprocTarget) -> tuple[DriftReport, list[str]]:
    report = DriftReport()
    run = asyncio.run(run_checks([TOUR], target, [report]))
    return report, [r.status for r in run.results]


def test_clean_mock_has_no_drift() -> None:
    report, statuses = drift_of(InprocTarget())
    assert statuses == ["pass"]
    assert report.answers >= 6
    assert report.drifts == []


def test_drifted_target_shows_exactly_the_planted_three() -> None:
    report, _ = drift_of(InprocTarget(app=drifted_app()))
    found = {(d.kind, d.operation, d.path, d.expected, d.actual) for d in report.drifts}
    assert found == PLANTED
    assert all(d.provider == "topview" for d in report.drifts)
    assert report.checks[report.drifts[0]] == ["topview.tour"]


def test_each_kind_is_named() -> None:
    ok = contracts.load("topview", "credit_detail.response")["examples"][0]
    assert answer_drift("topview", "credit_detail", ok) == []
    body = {**ok, "result": {**ok["result"], "bonus": 1}}
    assert answer_drift("topview", "credit_detail", body) == [
        Drift("unknown_field", "topview", "credit_detail", "/result/bonus", "absent", "1")]
    body = {**ok, "result": {k: v for k, v in ok["result"].items() if k != "uid"}}
    assert [d.kind for d in answer_drift("topview", "credit_detail", body)] == [
        "missing_field"]
    status = {"code": "200", "message": "Success",
              "result": {"taskId": "0" * 32, "status": "queued"}}
    (drift,) = answer_drift("topview", "remove_background_query", status)
    assert (drift.kind, drift.path, drift.actual) == ("enum_value", "/result/status",
                                                      '"queued"')
    assert answer_drift("topview", "credit_detail", "<html>")[0].kind == "unknown_answer"
    assert status_drift("topview", "credit_detail", 502, ok)[0].expected == "200"
    assert status_drift("runware", "ping", 401, {"errors": [
        {"code": "invalidApiKey", "message": "x"}]}) == []
    assert status_drift("runware", "ping", 418, {"errors": [
        {"code": "invalidApiKey", "message": "x"}]})[0].actual == "418"


def test_noise_is_compared_by_type_only() -> None:
    """A task id that breaks the contract's pattern is noise; one of the wrong type is not."""
    base = copy.deepcopy(contracts.load("topview", "remove_background_query.response")
                         ["examples"][0])
    assert answer_drift("topview", "remove_background_query", base) == []
    base["result"]["taskId"] = "not-hex-at-all"
    assert answer_drift("topview", "remove_background_query", base) == []
    base["result"]["taskId"] = 12
    (drift,) = answer_drift("topview", "remove_background_query", base)
    assert (drift.kind, drift.path) == ("type_change", "/result/taskId")
    assert noise("picpik").is_noise("/TaskDetailList/*/ImgList/*")


def test_codes_the_contract_cannot_enumerate() -> None:
    """PICPIK's RetCodes and Runware's error codes come from noise.json's ``codes``."""
    err = {"Action": "RemoveBackground", "RetCode": 999, "Message": "new",
           "request_uuid": "x"}
    (drift,) = answer_drift("picpik", "remove_background", err)
    assert (drift.kind, drift.path, drift.actual) == ("error_code", "/RetCode", "999")
    assert answer_drift("picpik", "remove_background", {**err, "RetCode": 171}) == []
    body = {"errors": [{"code": "missingInputImage", "message": "x"},
                       {"code": "brandNewCode", "message": "y"}]}
    (drift,) = answer_drift("runware", "remove_background", body)
    assert (drift.kind, drift.path, drift.actual) == ("error_code", "/errors/*/code",
                                                      '"brandNewCode"')


def test_every_code_the_mock_emits_is_known() -> None:
    """noise.json's code lists cover what the mock can answer (a drift-free mock)."""
    from bgmock.server.providers.picpik.errors import MESSAGES
    from bgmock.server.providers.runware.errors import INJECTABLE

    assert {str(c) for c in MESSAGES} <= noise("picpik").known_codes
    assert {c.code for c in INJECTABLE.values()} <= noise("runware").known_codes


# --- outside input: a live answer can be anything --------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["code", "result", "data", "errors", "RetCode", "taskId",
                                       "resCode", "success", "status", "x"]) | st.text(max_size=8),
                      inner, max_size=5),
    max_leaves=25)
OPERATIONS = [(p, op) for p in ("topview", "aidge", "picpik", "runware")
              for op in contracts.operations(p)["operations"]]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(OPERATIONS), JSON, st.integers(100, 599))
def test_any_answer_gives_drift_records_never_an_exception(where: tuple[str, str], body: object,
                                                           status: int) -> None:
    provider, operation = where
    found = answer_drift(provider, operation, body) + status_drift(provider, operation, status,
                                                                   body)
    assert all(isinstance(d, Drift) and d.kind in KINDS for d in found)
    assert all(len(d.actual) <= 120 for d in found)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["application/json", "text/html", ""]))
def test_any_body_through_the_observer(body: bytes, content_type: str) -> None:
    """Any bytes on any route: an exchange with an operation or none, and its drift."""
    for provider, path, method in (("picpik", "/picpik/", "POST"),
                                   ("runware", "/runware/v1", "POST"),
                                   ("topview", "/topview/user/credit/detail", "GET")):
        names = operations_of(provider, f"/{provider}", method, path, {}, body, content_type)
        exchange = Exchange(provider, names[0] if names else None, method, "http://x" + path,
                            {}, body, 200, {}, body, names)
        assert all(isinstance(d, Drift) for d in exchange_drift(exchange))


def test_deep_answers_are_bounded() -> None:
    deep: object = 1
    for _ in range(5000):
        deep = {"result": deep}
    assert isinstance(answer_drift("topview", "credit_detail", {"code": "200",
                                                               "message": "Success",
                                                               "result": deep}), list)
    body = b"[" * 100_000 + b"]" * 100_000
    exchange = Exchange("runware", "ping", "POST", "http://x/runware/v1", {}, b"[]", 200, {},
                        body, ("ping",))
    assert [d.kind for d in exchange_drift(exchange)] == ["unknown_answer"]
