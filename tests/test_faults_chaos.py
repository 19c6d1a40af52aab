"""Chaos faults: probability, latency ranges, and the ranges every fault number must keep."""

from __future__ import annotations

import math

import pytest
from bgmock.server.core.faults import (
    MAX_DELAY,
    MAX_DURATION,
    MAX_POLLS,
    Fault,
    Faults,
    FaultSyntaxError,
    parse,
)
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.topview_calls import CREDIT, DEMO, Api

DIRECTIVES = ["error", "fail", "fail_at", "stuck", "polls", "duration", "delay", "probability",
              "DELAY", "Polls"]
NUMBERS = ["inf", "-inf", "nan", "NaN", "1e9", "1e309", "1" + "0" * 100, "-0", "0", "1", "0.5",
           "60", "60.0001", "2592000", "2592001", "1000000", "1000001", "1_0", " 3 ", "0x10",
           "0.05..0.5", "0.5..0.05", "..", "1..inf", "nan..1", "", "1e-400"]


def assert_in_range(fault: Fault) -> None:
    for value in (fault.delay, fault.delay_max, fault.duration, fault.polls, fault.probability):
        assert value is None or math.isfinite(value)
    assert 0 <= fault.delay <= MAX_DELAY
    assert fault.delay_max is None or fault.delay <= fault.delay_max <= MAX_DELAY
    assert fault.duration is None or 0 <= fault.duration <= MAX_DURATION
    assert fault.polls is None or 1 <= fault.polls <= MAX_POLLS
    assert 0 <= fault.probability <= 1
    for text in (fault.error, fault.fail_message, fault.fail_at, fault.stuck_at):
        assert text is None or len(text) <= 200


def parse_or_refuse(text: str) -> None:
    try:
        fault = parse(text)
    except FaultSyntaxError as exc:
        assert len(str(exc)) < 200  # a short message, never the whole input back
        return
    assert isinstance(fault, Fault)
    assert_in_range(fault)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parse_of_any_text_is_a_ranged_fault_or_a_syntax_error(text: str) -> None:
    parse_or_refuse(text)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(DIRECTIVES),
                          st.one_of(st.sampled_from(NUMBERS), st.text(max_size=300),
                                    st.floats().map(repr), st.integers().map(str))),
                min_size=1, max_size=4))
def test_parse_of_directives_with_any_value_keeps_every_number_in_range(
        parts: list[tuple[str, str]]) -> None:
    parse_or_refuse(";".join(f"{name}={value}" for name, value in parts))


@pytest.mark.parametrize("text", [
    "delay=inf", "delay=1e9", "delay=nan", "delay=61", "delay=-1", "delay=0.5..0.1",
    "delay=0..inf", "duration=inf", "duration=nan", "duration=2592001",
    "polls=" + "1" + "0" * 100, "polls=1000001", "polls=0", "probability=1.5",
    "probability=-0.1", "probability=nan", "error=" + "9" * 201, "fail=" + "x" * 201,
])
def test_out_of_range_numbers_are_refused(text: str) -> None:
    with pytest.raises(FaultSyntaxError):
        parse(text)


@pytest.mark.parametrize(("text", "fault"), [
    ("delay=60", Fault(delay=60.0)),
    ("delay=0.05..0.5", Fault(delay=0.05, delay_max=0.5)),
    ("duration=2592000", Fault(duration=2592000.0)),
    ("polls=1000000", Fault(polls=1_000_000)),
    ("error=5003;probability=0.05", Fault(error="5003", probability=0.05)),
])
def test_ranged_numbers_at_their_bounds_are_accepted(text: str, fault: Fault) -> None:
    assert parse(text) == fault


@pytest.mark.parametrize("header", ["delay=inf", "delay=nan", "delay=1e9", "duration=inf",
                                    "polls=" + "1" * 101, "probability=2", "delay=1..0"])
def test_out_of_range_header_gets_the_control_error(api: Api, header: str) -> None:
    response = api.get(CREDIT, headers={**DEMO, "X-Mock-Fault": header})
    assert response.status_code == 400
    assert response.json()["bgmockError"].startswith("X-Mock-Fault: ")
    assert len(response.text) < 300


@pytest.mark.parametrize("extra", [
    {"fault": "delay=1e9"}, {"fault": "duration=inf"}, {"fault": "polls=99999999999"},
    {"fault": "error=5000", "probability": 1.5}, {"fault": "error=5000", "probability": -1},
    {"fault": "error=5000", "latency": "0..61"}, {"fault": "error=5000", "latency": "nan"},
    {"fault": "error=5000", "latency": "0.1;error=4000"}, {"fault": "probability=0.5"},
])
def test_out_of_range_admin_rules_get_400(api: Api, extra: dict) -> None:
    response = api.controls.http.post(f"{api.controls.base_url}/__admin/faults",
                                      json={"provider": "topview", **extra})
    assert response.status_code == 400, response.text
    assert len(response.json()["detail"]) < 200
    assert api.controls.http.get(f"{api.controls.base_url}/__admin/faults").json() == []


# --- probability -------------------------------------------------------------------------

def add_rule(api_or_mock: object, **body: object) -> dict:
    controls = api_or_mock.controls if isinstance(api_or_mock, Api) else api_or_mock
    response = controls.http.post(f"{controls.base_url}/__admin/faults",
                                  json={"provider": "topview", **body})
    assert response.status_code == 201, response.text
    return response.json()


def codes(http: object, n: int, headers: dict | None = None) -> list[str]:
    return [http.get(CREDIT, headers=headers or DEMO).json()["code"] for _ in range(n)]


def test_a_rule_fires_with_its_probability(api: Api) -> None:
    rule = add_rule(api, operation="credit_detail", fault="error=5003", probability=0.25)
    assert rule["probability"] == 0.25 and rule["fault"] == "error=5003;probability=0.25"
    seen = codes(api.http, 400)
    assert set(seen) == {"200", "5003"}
    assert 60 <= seen.count("5003") <= 140  # 100 expected; far outside this is a broken draw
    listed = api.controls.http.get(f"{api.controls.base_url}/__admin/faults").json()[0]
    assert listed["hits"] == seen.count("5003")


def test_a_rule_that_does_not_fire_keeps_its_count(api: Api) -> None:
    add_rule(api, operation="credit_detail", fault="error=5003", probability=0.5, count=5)
    seen = codes(api.http, 60)
    assert seen.count("5003") == 5  # every one of the 5 was spent on a request that failed
    listed = api.controls.http.get(f"{api.controls.base_url}/__admin/faults").json()[0]
    assert (listed["hits"], listed["remaining"]) == (5, 0)


def test_the_next_rule_answers_when_the_first_does_not_fire() -> None:
    faults = Faults(seed=3)
    faults.add("topview", "*", parse("error=5003;probability=0.5"))
    faults.add("topview", "*", parse("delay=0.01"))
    seen = [faults.resolve("topview", "op", None, None) for _ in range(100)]
    assert {f.error for f in seen} == {"5003", None}
    assert all(f == Fault(delay=0.01) for f in seen if f.error is None)


def test_header_probability_zero_and_one(api: Api) -> None:
    assert set(codes(api.http, 20, {**DEMO, "X-Mock-Fault": "error=5003;probability=0"})) \
        == {"200"}
    assert set(codes(api.http, 5, {**DEMO, "X-Mock-Fault": "error=5003;probability=1"})) \
        == {"5003"}


def seeded_run(seed: int | None) -> list[str]:
    mock = InProcessMock(Settings(clock="virtual", seed=seed))
    try:
        add_rule(mock, operation="credit_detail", fault="error=5003", probability=0.3)
        with mock.client() as http:
            run = codes(http, 40)
            run += codes(http, 40, {**DEMO, "X-Mock-Fault": "error=5000;probability=0.3"})
            mock.reset()  # a reset starts the same draws anew
            add_rule(mock, operation="credit_detail", fault="error=5003", probability=0.3)
            return run + codes(http, 40)
    finally:
        mock.close()


def test_a_seeded_run_repeats_its_draws_exactly() -> None:
    first = seeded_run(11)
    assert first == seeded_run(11)
    assert first[:40] == first[80:]
    assert first != seeded_run(12)
    assert {"5003", "5000", "200"} <= set(first)


# --- latency -----------------------------------------------------------------------------

def test_latency_is_drawn_uniformly_between_the_bounds() -> None:
    def draws(seed: int) -> list[float]:
        faults = Faults(seed=seed)
        faults.add("topview", "*", parse("delay=0.05..0.5"))
        return [faults.resolve("topview", "op", None, None).delay for _ in range(300)]
    values = draws(5)
    assert all(0.05 <= v <= 0.5 for v in values)
    assert min(values) < 0.1 and max(values) > 0.45  # spread over the whole range
    assert values == draws(5) and values != draws(6)


def test_header_latency_range_is_applied_and_journaled(mock: InProcessMock) -> None:
    with mock.client() as http:
        response = http.get(CREDIT, headers={**DEMO, "X-Mock-Fault": "delay=0.001..0.003"})
    assert response.json()["code"] == "200"
    entry = mock.journal(operation="credit_detail")[-1]
    name, _, value = entry["fault"].partition("=")
    assert name == "delay" and 0.001 <= float(value) <= 0.003


def test_admin_latency_field_and_the_session_recipe(api: Api) -> None:
    """5 % of requests fail (and are slow), every other request is slow too."""
    add_rule(api, operation="credit_detail", fault="error=5003", probability=0.05,
             latency="0.0005..0.001")
    rule = add_rule(api, operation="credit_detail", fault="delay=0.0005..0.001")
    assert rule["fault"] == "delay=0.0005..0.001"
    seen = codes(api.http, 400)
    assert 5 <= seen.count("5003") <= 45  # 20 expected
    journal = api.controls.journal(operation="credit_detail")
    assert len(journal) == 400
    for entry in journal:
        delay = dict(d.split("=") for d in entry["fault"].split(";"))["delay"]
        assert 0.0005 <= float(delay) <= 0.001


@pytest.mark.parametrize("text", ["delay=1;delay=2", "webhook=drop;webhook=fail",
                                  "error=5000;ERROR=4000"])
def test_a_directive_given_twice_is_refused(text: str) -> None:
    with pytest.raises(FaultSyntaxError, match="given twice"):
        parse(text)
