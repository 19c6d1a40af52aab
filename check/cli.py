"""``bgmock check``: run the contract checks against a target and report.

    bgmock check [--provider P ...] [--target inproc|URL|live] [--live-budget N]
                 [--report F] [--junit F] [--allow-drift] [--list] [-k SUBSTRING]

Exit statuses: 0 clean, 1 a check failed, 2 drift (0 with ``--allow-drift``), 3 the run could
not start (a bad argument, an unusable target, ``live`` without ``--live-budget``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import NoReturn

from bgmock.check import report
from bgmock.check.drift import DriftReport
from bgmock.check.observe import Sink
from bgmock.check.record import Recorder
from bgmock.check.registry import PROVIDERS, all_checks
from bgmock.check.runner import run_checks, select
from bgmock.check.targets import TargetError, make_target


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 3: 2 means drift."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(report.EXIT_USAGE, f"bgmock check: {message}\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bgmock check",
                description="Run the contract checks through the reference clients against a "
                            "target and report drift from the contracts. Exit status: 0 "
                            "clean, 1 a check failed, 2 drift (unless --allow-drift), 3 the "
                            "run could not start.")
    p.add_argument("--provider", action="append", choices=PROVIDERS, metavar="P",
                   help=f"only this provider's checks (repeatable; {', '.join(PROVIDERS)})")
    p.add_argument("--target", default="inproc",
                   help="inproc (default: the mock in this process), a running mock's URL "
                        "(http://127.0.0.1:8080) or live (the real APIs; keys from "
                        "TOPVIEW_UID/TOPVIEW_API_KEY, AIDGE_APP_KEY/AIDGE_APP_SECRET, "
                        "PICPIK_PUBLIC_KEY/PICPIK_PRIVATE_KEY, RUNWARE_API_KEY)")
    p.add_argument("--live-budget", type=int, dest="live_budget", metavar="N",
                   help="paid calls allowed on --target live (required there)")
    p.add_argument("--report", metavar="FILE", help="write the results and drift as JSON")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    p.add_argument("--record", metavar="DIR",
                   help="write every exchange to DIR (secrets redacted, images stored once "
                        "by hash) for 'bgmock serve --replay DIR'")
    p.add_argument("--allow-drift", action="store_true", dest="allow_drift",
                   help="drift is reported but does not fail the run")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.add_argument("-k", dest="keyword", metavar="SUBSTRING",
                   help="only checks whose name contains SUBSTRING")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    checks = select(all_checks(args.provider), args.keyword)
    if args.list:
        for c in checks:
            flags = " ".join(filter(None, (f"cost={c.cost}" if c.cost else "",
                                           "mock-only" if c.mock_only else "")))
            print(f"{c.name:<50} {c.operation:<32} {flags}".rstrip())
        return report.EXIT_OK
    if args.target != "live" and args.live_budget is not None:
        print("bgmock check: --live-budget applies to --target live only", file=sys.stderr)
        return report.EXIT_USAGE
    try:
        target = make_target(args.target, args.live_budget)
    except TargetError as exc:
        print(f"bgmock check: {exc}", file=sys.stderr)
        return report.EXIT_USAGE
    if not checks:
        print("bgmock check: no check matches", file=sys.stderr)
        return report.EXIT_USAGE
    drift = DriftReport()
    sinks: list[Sink] = [drift]  # more sinks see every exchange too (a recorder, D220)
    recorder = None
    if args.record:
        try:
            recorder = Recorder(args.record)
        except OSError as exc:
            print(f"bgmock check: --record: {args.record}: {exc.strerror or exc}",
                  file=sys.stderr)
            return report.EXIT_USAGE
        sinks.append(recorder)
    run = asyncio.run(run_checks(checks, target, sinks))
    if recorder is not None:
        recorder.close()
        print(recorder.summary())
    print(report.table(run, drift))
    if args.report:
        report.write_json(args.report, run, drift, args.allow_drift)
    if args.junit:
        report.write_junit(args.junit, run, drift, args.allow_drift)
    return report.exit_status(run, drift, args.allow_drift)
