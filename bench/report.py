"""From the raw figures of a run to the rows of the table (``bench.table.Row``)."""

from __future__ import annotations

from typing import Any

from bench.memory import GROWTH_TARGET, RSS_TARGET_MB
from bench.table import Row

COLD_START_TARGET_S = 0.3
QUERY_P99_TARGET_MS = 5.0
QUERY_P99_BESIDE_CUTOUTS_TARGET_MS = 10.0
CUTOUTS_BASELINE_PER_S = 8.5            # issue 8: 1024x1024, 8 clients, before the work
CUTOUTS_TARGET_PER_S = 2 * CUTOUTS_BASELINE_PER_S
QUERY_KEY = "topview_query"             # the hot path whose mock p99 is row "p99 at 32"


def ratio_row(r: dict[str, Any]) -> Row:
    med = r["median"]
    detail = (f"{r['method']} {r['path'][:70]}: mock {med['mock']['rps']:.0f} req/s "
              f"({med['mock']['server_cpu_us_per_request']:.0f} us CPU/req), bare "
              f"{med['bare']['rps']:.0f} req/s ({med['bare']['server_cpu_us_per_request']:.0f}"
              f" us); median of {r['rounds']} round(s), {r['connections']} connections, "
              f"answer {r['answer_bytes']} bytes, HTTP {r['answer_status']}")
    errors = med["mock"]["errors"] + med["bare"]["errors"]
    if errors:
        detail += f"; {errors} non-2xx/socket errors"
    for h in r.get("history", [])[-1:]:
        detail += (f"; history: {h.get('tasks_stored', '?')} tasks stored after "
                   f"{h['requests_total']} requests, CPU/req early {h['early_cpu_us_per_request']}"
                   f" us, late {h['late_cpu_us_per_request']} us ({h['late_to_early_cpu']:.2f}x),"
                   f" RSS {h['rss_mb_after_first_window']} -> {h['rss_mb_after_late_window']} MB")
    if r.get("note"):
        detail += f"; {r['note']}"
    return Row(f"{r['name']}: mock / bare", r["ratio_mock_to_bare"], "x", r["target"], True,
               detail)


def cold_start_row(cold: dict[str, Any]) -> Row:
    mock, bare = cold["mock"], cold["bare"]
    return Row(f"cold start to first 200, median of {len(mock['runs'])}", mock["median_s"],
               "s", COLD_START_TARGET_S, False,
               f"`{mock['command']}`: min {mock['min_s']:.3f} s, server CPU "
               f"{mock['cpu_median_s']:.2f} s; bare Starlette {bare['median_s']:.3f} s")


def memory_row(m: dict[str, Any]) -> Row:
    rss, growth = m["rss_mb"], m["growth_half_to_end"]
    half = m["planned"] // 2
    flat = growth < GROWTH_TARGET and m["complete"]
    detail = (f"server process RSS: start {rss['start']} MB, at {half:,} {rss['half']} MB, at "
              f"{m['planned']:,} {rss['end']} MB ({growth:+.1%} from half); with its child "
              f"processes {rss['end_with_children']} MB; {m['requests']:,} answered, "
              f"{'healthy' if m['healthy_after'] else 'NOT healthy'} afterwards")
    if m["planned"] < 100_000:
        detail += "; fewer requests than the target's 100,000 (quick mode or --mixed-requests)"
    return Row(f"RSS after {m['planned']:,} mixed requests", rss["end"], "MB", RSS_TARGET_MB,
               False, detail, also_met=flat, also=f"< {GROWTH_TARGET:.0%} growth from half")


def query_p99_row(ratios: list[dict[str, Any]]) -> Row:
    found = [r for r in ratios if r.get("key") == QUERY_KEY]
    if not found:
        return Row("p99 at 32 connections on the query", None, "ms", QUERY_P99_TARGET_MS,
                   False, "the query row was not run")
    r = found[0]
    runs = ", ".join(f"{x['p99_ms']:.2f}" for x in r["runs"]["mock"])
    return Row(f"p99 at {r['connections']} connections on the query", r["median"]["mock"]
               ["p99_ms"], "ms", QUERY_P99_TARGET_MS, False,
               f"wrk --latency, the mock runs of row 1 (p99 per round: {runs} ms; bare "
               f"{r['median']['bare']['p99_ms']:.2f} ms)")


def isolation_rows(i: dict[str, Any]) -> list[Row]:
    beside, cuts = i["query_beside_cutouts"], i["cutouts_alone"]
    alone = i.get("query_alone")
    context = (f"; alone on the same server: {alone['rps']:.0f} req/s, p99 "
               f"{alone['p99_ms']:.2f} ms" if alone else "")
    validity = "" if i["valid"] else f"; INVALID: {i['failures']} failed cut-outs"
    return [
        Row(f"p99 of the query at {i['connections']} connections beside {i['clients']} "
            f"{i['side']}x{i['side']} cut-out clients", beside["p99_ms"], "ms",
            QUERY_P99_BESIDE_CUTOUTS_TARGET_MS, False,
            f"query {beside['rps']:.0f} req/s beside "
            f"{i['cutouts_beside_query']['rps']:.2f} cut-outs/s{context}; server unpinned"
            + validity),
        Row(f"Aidge {i['side']}x{i['side']} cut-outs per second, {i['clients']} clients",
            cuts["rps"], "/s", CUTOUTS_TARGET_PER_S, True,
            f"2x the {CUTOUTS_BASELINE_PER_S}/s before issue 8; p50 {cuts['p50_ms']} ms, p99 "
            f"{cuts['p99_ms']} ms, server CPU {cuts['tree_cpu_ms_per_request']} ms/cut-out over "
            f"{cuts['tree_processes']} process(es), n={cuts['requests']}" + validity),
    ]


def rows(result: dict[str, Any]) -> list[Row]:
    """The table of a run, in issue 8's order; parts not run are left out."""
    ratios = result.get("ratios", [])
    out = [ratio_row(r) for r in ratios[:3]]
    if "cold_start" in result:
        out.append(cold_start_row(result["cold_start"]))
    if "memory" in result:
        out.append(memory_row(result["memory"]))
    if any(r.get("key") == QUERY_KEY for r in ratios):
        out.append(query_p99_row(ratios))
    if "isolation" in result:
        out += isolation_rows(result["isolation"])
    out += [ratio_row(r) for r in ratios[3:]]        # later providers' hot paths
    return out
