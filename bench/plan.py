"""How long each part of ``python -m bench`` runs: the full plan and ``--quick``'s, and an
upper estimate of the wall time a plan takes (``--quick`` must stay under 60 s)."""

from __future__ import annotations

from dataclasses import dataclass, replace

QUICK_BUDGET_S = 60.0

# Conservative costs on a 2-core machine, used only for the estimate.
SERVER_S = 1.0            # spawn to first 200 (~0.2-0.3 s measured) plus stop, with margin
COLD_START_S = 0.6        # one timed cold start of either app, probe included
SETUP_S = 1.0             # a row's set-up against its first mock (uploads, first answer)
PROCESS_S = 2.0           # this interpreter's start, imports, the machine line, the JSON
MIXED_RPS_FLOOR = 3_000   # mixed requests/s the mock serves at least (for the estimate)
IMPORTS_S = 1.5           # the -X importtime breakdown (one interpreter)


@dataclass(frozen=True)
class Plan:
    cold_runs: int            # cold starts per app (mock, bare), after one untimed each
    rounds: int               # A B rounds per ratio row
    warmup: float             # seconds, whole (wrk): before each measured window
    seconds: float            # seconds, whole (wrk): each measured window (cut-outs too)
    mixed_requests: int       # row 5: requests in all (RSS read at half and at the end)
    cutout_clients: int = 8
    connections: int = 32
    imports: bool = True      # the -X importtime breakdown of cold start
    query_alone: bool = True  # rows 7/8 server: the query p99 without cut-outs, for context
    history: bool = True      # history rows (submit): a second window, cost early vs late
    cold_warm: bool = True    # one untimed start of each app before the timed cold starts


FULL = Plan(cold_runs=10, rounds=2, warmup=2, seconds=10, mixed_requests=100_000)
QUICK = Plan(cold_runs=3, rounds=1, warmup=1, seconds=1, mixed_requests=8_000,
             imports=False, query_alone=False, history=False, cold_warm=False)


def with_overrides(plan: Plan, **changes: float | int | None) -> Plan:
    """The plan with the options given on the command line (None: keep the plan's)."""
    return replace(plan, **{k: v for k, v in changes.items() if v is not None})


def estimate_s(plan: Plan, ratio_rows: int, history_rows: int = 1) -> float:
    """Upper estimate of the wall time of a whole run of ``plan``, in seconds."""
    cold = (plan.cold_runs + plan.cold_warm) * 2 * COLD_START_S
    cold += IMPORTS_S if plan.imports else 0
    per_variant = SERVER_S + plan.warmup + plan.seconds
    ratios = ratio_rows * (SETUP_S + plan.rounds * 2 * per_variant)
    if plan.history:
        ratios += history_rows * plan.rounds * (plan.seconds + SETUP_S)
    mixed = SERVER_S + SETUP_S + plan.mixed_requests / MIXED_RPS_FLOOR
    isolation = SERVER_S + SETUP_S + (plan.warmup + plan.seconds)        # row 8
    isolation += 2 * plan.warmup + plan.seconds + 1                      # row 7
    if plan.query_alone:
        isolation += plan.warmup + plan.seconds
    return round(PROCESS_S + cold + ratios + mixed + isolation, 1)
