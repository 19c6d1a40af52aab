"""The benchmark's own code, without load: the table, the plan's time budget, the requests the
generators send and the bare app. (The figures themselves come from ``python -m bench``.)"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from bench import baseline, load, plan, providers, report
from bench.__main__ import _parser
from bench.load import HttpRequest
from bench.table import Row, format_table


def test_a_row_says_met_or_missed_beside_its_target() -> None:
    rows = [Row("ratio", 0.71, "x", 0.7, True), Row("cold", 0.31, "s", 0.3, False),
            Row("rss", 60.0, "MB", 80.0, False, also_met=False, also="< 5% growth"),
            Row("absent", None, "ms", 5.0, False, "not run")]
    assert [r.verdict for r in rows] == ["met", "MISSED", "MISSED", "not measured"]
    text = format_table(rows)
    lines = text.splitlines()
    assert lines[2].split() == ["1", "ratio", "0.71", ">=", "0.70", "met"]
    assert lines[3].split() == ["2", "cold", "0.310", "s", "<=", "0.300", "s", "MISSED"]
    assert "<= 80.0 MB, < 5% growth" in lines[4] and lines[4].endswith("MISSED")
    assert lines[5].endswith("not measured") and "  4. not run" in text
    assert lines[-1] == "1 of 4 targets met"


def _ratio(key: str, mock: float, bare: float, target: float) -> dict[str, Any]:
    figures = {"rps": mock, "p50_ms": 2.0, "p99_ms": 4.5, "server_cpu_us_per_request": 90,
               "errors": 0}
    return {"key": key, "name": key, "target": target, "note": "", "method": "GET",
            "path": "/x", "answer_bytes": 10, "answer_status": 200, "rounds": 2,
            "connections": 32, "median": {"mock": figures, "bare": figures | {"rps": bare}},
            "runs": {"mock": [figures, figures]}, "ratio_mock_to_bare": round(mock / bare, 3)}


def _cuts(rps: float) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": 400, "p99_ms": 600, "tree_cpu_ms_per_request": 60,
            "tree_processes": 3, "requests": 170, "failures": 0}


def test_a_whole_result_makes_the_eight_rows_of_issue_8_in_its_order() -> None:
    result = {
        "ratios": [_ratio("topview_query", 7500, 10000, 0.7),
                   _ratio("topview_submit", 4000, 10000, 0.5),
                   _ratio("aidge_bad_signature", 5000, 10000, 0.6)],
        "cold_start": {name: {"runs": [0.2] * 10, "median_s": 0.25, "min_s": 0.2,
                              "cpu_median_s": 0.2, "command": "bgmock serve"}
                       for name in ("mock", "bare")},
        "memory": {"rss_mb": {"start": 40, "half": 60, "end": 62, "end_with_children": 90},
                   "growth_half_to_end": 0.033, "planned": 100_000, "requests": 100_000,
                   "complete": True, "healthy_after": True},
        "isolation": {"query_beside_cutouts": {"rps": 9000, "p99_ms": 12.0},
                      "cutouts_alone": _cuts(18.0), "cutouts_beside_query": _cuts(9.0),
                      "connections": 32, "clients": 8, "side": 1024, "valid": True,
                      "failures": 0},
    }
    rows = report.rows(result)
    assert [r.verdict for r in rows] == ["met", "missed".upper(), "missed".upper(), "met",
                                         "met", "met", "MISSED", "met"]
    assert [r.target for r in rows] == [0.7, 0.5, 0.6, 0.3, 80.0, 5.0, 10.0, 17.0]
    assert "Topview" not in rows[0].label or rows[0].label.endswith("mock / bare")
    assert "fewer requests" not in rows[4].detail
    result["memory"] |= {"growth_half_to_end": 0.08, "planned": 10_000}
    result["ratios"].append(_ratio("picpik_query", 8000, 10000, 0.7))   # a later provider
    rows = report.rows(result)
    assert rows[4].verdict == "MISSED" and "fewer requests" in rows[4].detail
    assert len(rows) == 9 and rows[-1].label == "picpik_query: mock / bare"


def test_bench_quick_fits_its_time_budget_on_paper() -> None:
    ratio_rows = len(providers.HOT_PATHS)
    quick = plan.estimate_s(plan.QUICK, ratio_rows)
    assert quick < plan.QUICK_BUDGET_S
    assert plan.estimate_s(plan.FULL, ratio_rows) > quick
    # one more provider's hot path must still fit (the hook is meant to grow)
    assert plan.estimate_s(plan.QUICK, ratio_rows + 1) < plan.QUICK_BUDGET_S + 15
    assert plan.FULL.mixed_requests == 100_000 and plan.FULL.cold_runs == 10


def test_the_command_line_picks_the_plan() -> None:
    args = _parser().parse_args(["--quick", "--rounds", "3"])
    chosen = plan.with_overrides(plan.QUICK if args.quick else plan.FULL, rounds=args.rounds,
                                 seconds=args.seconds)
    assert chosen.rounds == 3 and chosen.seconds == plan.QUICK.seconds


def test_hot_paths_are_the_issues_rows_then_later_providers() -> None:
    slugs = [p.slug for p in providers.HOT_PATHS]
    assert slugs[:3] == ["topview_query", "topview_submit", "aidge_bad_signature"]
    assert len(set(slugs)) == len(slugs)
    assert [p.target for p in providers.HOT_PATHS[:3]] == [0.7, 0.5, 0.6]
    assert slugs[0] == report.QUERY_KEY
    (signed,) = providers.aidge_bad_signature(0)
    assert signed.method == "POST" and "sign=" in signed.path and signed.body


def test_requests_go_out_with_their_length_and_rotate_in_wrk() -> None:
    post = HttpRequest("POST", "/a?b=1", (("X-K", 'v"1'),), b'{"k": "\xe9"}')
    assert post.raw().startswith(b"POST /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-K: v\"1\r\n")
    assert post.raw().endswith(b"Content-Length: 10\r\n\r\n" + post.body)
    assert b"Content-Length" not in load.get("/q").raw()
    assert load.lua_string('a"\\\n\xe9') == '"a\\"\\\\\\010\\195\\169"'
    static = load.lua_script([post])
    assert "request" not in static and 'wrk.method = "POST"' in static
    rotated = load.lua_script([post, load.get("/q", {"A": "b"})])
    assert rotated.count("wrk.format(") == 2 and "i % #reqs + 1" in rotated
    assert 'wrk.format("GET", "/q", {["A"] = "b"}, nil)' in rotated


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_bare_app_answers_the_captured_bytes(method: str) -> None:
    app = baseline.build(b'{"code":"x"}', "/p/q?ignored=1", method, 200, "application/json")

    async def ask() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
            return (await client.request(method, "/p/q?taskId=1", content=b"{}"),
                    await client.get("/__admin/health"))

    answer, health = asyncio.run(ask())
    assert (answer.status_code, answer.content) == (200, b'{"code":"x"}')
    assert answer.headers["content-type"] == "application/json"
    assert health.status_code == 200


def test_a_round_without_latency_figures_is_left_out_of_the_median() -> None:
    from bench.throughput import _median

    rounds = [{"rps": 10.0, "p50_ms": float("nan"), "p99_ms": float("nan"),
               "server_cpu_us_per_request": 100.0, "errors": 0},
              {"rps": 20.0, "p50_ms": 2.0, "p99_ms": 4.0, "server_cpu_us_per_request": 80.0,
               "errors": 1}]
    assert _median(rounds) == {"rps": 15.0, "p50_ms": 2.0, "p99_ms": 4.0,
                               "server_cpu_us_per_request": 90.0, "errors": 1}
