"""``bgmock check`` (issue 12): exit statuses 0/1/2/3, the JSON report, the JUnit XML, the
table; and the pytest entry (``pytest --pyargs bgmock.check --bgmock-target=...``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from bgmock.check import report
from bgmock.check.cli import main
from bgmock.server.testing import running_server

from tests.check_drifted import drifted_server

BGMOCK = Path(sys.executable).with_name("bgmock")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BGMOCK), "check", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_list_and_usage_errors() -> None:
    listed = run_cli("--list", "--provider", "aidge")
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names and all(n.startswith("aidge.") for n in names)
    assert "aidge.cut_out.no_quota" in listed.stdout and "mock-only" in listed.stdout
    live = run_cli("--target", "live")
    assert live.returncode == report.EXIT_USAGE == 3
    assert "--live-budget" in live.stderr
    assert main(["--target", "ftp://example.com"]) == 3
    assert main(["--live-budget", "3"]) == 3           # a budget without live
    assert main(["-k", "no-such-check"]) == 3
    with pytest.raises(SystemExit) as bad:
        main(["--bogus"])
    assert bad.value.code == 3                          # not 2: that is drift


def test_clean_run_writes_the_report_and_junit(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out, junit = tmp_path / "drift.json", tmp_path / "junit.xml"
    status = main(["--provider", "topview", "--provider", "runware", "-k", "happy",
                   "--report", str(out), "--junit", str(junit)])
    table = capsys.readouterr().out
    assert status == 0, table
    data = json.loads(out.read_text())
    assert data["summary"]["fail"] == 0 and data["summary"]["drift"] == 0
    assert data["summary"]["exit"] == 0 and data["target"] == "inproc"
    names = {r["name"] for r in data["results"]}
    assert "topview.credit_detail.happy" in names and "runware.ping.happy" in names
    assert all("happy" in n for n in names)
    suites = ElementTree.parse(junit).getroot()
    checks, drift = suites.findall("testsuite")
    assert checks.get("name") == "bgmock.check" and checks.get("failures") == "0"
    assert len(checks.findall("testcase")) == len(names)
    assert drift.get("tests") == "0"
    assert "topview.credit_detail.happy" in table and "0 drift" in table


def test_exit_statuses_on_the_drifted_target(tmp_path: Path) -> None:
    out, junit = tmp_path / "r.json", tmp_path / "j.xml"
    with drifted_server() as url:
        drift_only = main(["--target", url, "-k", "topview.remove_background.lifecycle",
                           "--report", str(out), "--junit", str(junit)])
        allowed = main(["--target", url, "-k", "topview.remove_background.lifecycle",
                        "--allow-drift"])
        failed = main(["--target", url, "-k", "topview.credit_detail.happy"])
        clean = main(["--target", url, "--provider", "aidge", "-k", "auth"])
    assert (drift_only, allowed, failed, clean) == (2, 0, 1, 0)
    data = json.loads(out.read_text())
    assert [(d["kind"], d["path"]) for d in data["drift"]] == [
        ("type_change", "/result/costCredit")]
    assert data["drift"][0]["checks"] == ["topview.remove_background.lifecycle"]
    failures = ElementTree.parse(junit).getroot().findall("testsuite")[1].findall(
        "testcase/failure")
    assert [f.get("type") for f in failures] == ["type_change"]


def test_over_the_wire_every_provider(capsys: pytest.CaptureFixture[str]) -> None:
    """The whole suite against `bgmock serve`'s server on a port (virtual clock)."""
    with running_server() as server:
        status = main(["--target", server.base_url])
    table = capsys.readouterr().out
    assert status == 0, table
    assert " 0 failed, 0 skipped" in table and "0 drift" in table


def pytest_entry(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "bgmock.check",
                           "-p", "no:cacheprovider", "-q", *args], capture_output=True,
                          text=True, timeout=300, check=False, env=env, cwd="/")


def test_pytest_entry_one_item_per_check() -> None:
    done = pytest_entry("--bgmock-provider=aidge", "-rA")
    assert done.returncode == 0, done.stdout + done.stderr
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASSED ")]
    assert any(line.endswith("test_contract.py::test_check[aidge.cut_out.docs_example]")
               for line in passed)
    assert passed[-1].endswith("test_contract.py::test_drift")
    assert "0 drift" in done.stdout
    refused = pytest_entry("--bgmock-target=live")
    assert refused.returncode != 0 and "--bgmock-live-budget" in refused.stderr


def test_pytest_entry_fails_on_drift() -> None:
    with drifted_server() as url:
        done = pytest_entry(f"--bgmock-target={url}", "-k",
                            "remove_background.lifecycle or drift", "--bgmock-provider=topview")
    assert done.returncode == 1, done.stdout
    assert re.search(r"FAILED \S*test_contract.py::test_drift", done.stdout)
    assert "type_change topview.remove_background_query /result/costCredit" in done.stdout
