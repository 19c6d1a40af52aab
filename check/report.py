"""A run's outcome for people and machines: a readable table (stdout), JSON (``--report``)
and JUnit XML (``--junit``); and the exit status.

Exit statuses (documented in the README): 0 every check passed or was skipped and no drift;
1 a check failed; 2 no check failed but the answers drifted from the contracts (0 with
``--allow-drift``); 3 the run could not start (a bad target, ``live`` without a budget)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from bgmock.check.drift import DriftReport
from bgmock.check.runner import Run

EXIT_OK, EXIT_FAILED, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2, 3


def exit_status(run: Run, drift: DriftReport, allow_drift: bool = False) -> int:
    if run.count("fail"):
        return EXIT_FAILED
    if drift.seen and not allow_drift:
        return EXIT_DRIFT
    return EXIT_OK


def to_json(run: Run, drift: DriftReport, allow_drift: bool = False) -> dict[str, Any]:
    return {
        "target": run.target,
        "summary": {"checks": len(run.results), "pass": run.count("pass"),
                    "fail": run.count("fail"), "skip": run.count("skip"),
                    "answers": drift.answers, "drift": len(drift.seen),
                    "exit": exit_status(run, drift, allow_drift)},
        "results": [{"name": r.name, "provider": r.check.provider,
                     "operation": r.check.operation, "status": r.status, "reason": r.reason,
                     "diff": r.diff, "calls": r.calls, "paid": r.paid,
                     "seconds": round(r.seconds, 3)} for r in run.results],
        "drift": drift.to_json(),
    }


def write_json(path: str | Path, run: Run, drift: DriftReport, allow_drift: bool = False) -> None:
    Path(path).write_text(json.dumps(to_json(run, drift, allow_drift), indent=2) + "\n",
                          encoding="utf-8")


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def table(run: Run, drift: DriftReport, results: bool = True) -> str:
    """The results (unless ``results`` is false: pytest lists them itself), then the drift,
    as aligned text."""
    name_w = max([len(r.name) for r in run.results] + [5])
    lines = [f"bgmock check: target {run.target}"]
    if results:
        lines += ["", f"{'check':<{name_w}}  {'result':<6}  {'calls':>5}  {'time':>6}  reason"]
        for r in run.results:
            lines.append(f"{r.name:<{name_w}}  {r.status.upper():<6}  {r.calls:>5}  "
                         f"{r.seconds:>5.2f}s  {_cut(r.reason, 70)}")
    lines += ["", f"{len(run.results)} checks: {run.count('pass')} passed, "
                  f"{run.count('fail')} failed, {run.count('skip')} skipped; "
                  f"{drift.answers} answers compared, {len(drift.seen)} drift"]
    if drift.seen:
        rows = [(d.kind, f"{d.provider}.{d.operation}", d.path or "-", d.expected, d.actual,
                 str(drift.seen[d])) for d in drift.drifts]
        heads = ("drift", "operation", "path", "expected", "actual", "seen")
        widths = [min(40, max(len(h), *(len(row[i]) for row in rows)))
                  for i, h in enumerate(heads)]
        lines += ["", "  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
        for row in rows:
            lines.append("  ".join(_cut(c, w).ljust(w)
                                   for c, w in zip(row, widths, strict=True)).rstrip())
    failed = [r for r in run.results if r.status == "fail" and r.diff and results]
    for r in failed:
        lines += ["", f"--- {r.name}: {r.reason}", r.diff]
    return "\n".join(lines)


def junit(run: Run, drift: DriftReport, allow_drift: bool = False) -> bytes:
    """One testsuite of the checks (``classname`` the provider) and one of the drift (a
    failed testcase per difference, unless drift is allowed)."""
    suites = ElementTree.Element("testsuites", name="bgmock check")
    checks = ElementTree.SubElement(
        suites, "testsuite", name="bgmock.check", tests=str(len(run.results)),
        failures=str(run.count("fail")), skipped=str(run.count("skip")), errors="0",
        time=f"{sum(r.seconds for r in run.results):.3f}")
    ElementTree.SubElement(ElementTree.SubElement(checks, "properties"), "property",
                           name="target", value=run.target)
    for r in run.results:
        case = ElementTree.SubElement(checks, "testcase", classname=r.check.provider,
                                      name=r.name, time=f"{r.seconds:.3f}")
        if r.status == "fail":
            ElementTree.SubElement(case, "failure", message=r.reason).text = r.diff or r.reason
        elif r.status == "skip":
            ElementTree.SubElement(case, "skipped", message=r.reason)
    drifts = drift.drifts
    suite = ElementTree.SubElement(
        suites, "testsuite", name="bgmock.drift", tests=str(len(drifts)),
        failures="0" if allow_drift else str(len(drifts)), skipped="0", errors="0")
    for d in drifts:
        case = ElementTree.SubElement(suite, "testcase", classname=f"drift.{d.provider}",
                                      name=f"{d.operation} {d.kind} {d.path or '-'}")
        text = f"expected {d.expected}, got {d.actual} ({drift.seen[d]}x)"
        if not allow_drift:
            ElementTree.SubElement(case, "failure", message=text, type=d.kind).text = text
        else:
            ElementTree.SubElement(case, "system-out").text = text
    return ElementTree.tostring(suites, encoding="utf-8", xml_declaration=True)


def write_junit(path: str | Path, run: Run, drift: DriftReport,
                allow_drift: bool = False) -> None:
    Path(path).write_bytes(junit(run, drift, allow_drift))
