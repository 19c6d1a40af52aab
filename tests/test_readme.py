"""The README cannot rot: its walkthrough runs, its references exist.

- The shell blocks marked ``<!-- walkthrough -->`` run in order in one ``bash`` against a fresh
  ``bgmock serve`` on a free port (standing in for the ``make`` lines), as a user pastes them.
- Every decision id the README (or a code comment) cites is defined in ``docs/decisions.md``.
- The fault-rule operation names the README lists are the ones ``operations.json`` defines.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bgmock.server.testing import free_port

from bgmock import contracts

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DECISIONS = ROOT / "docs" / "decisions.md"
WALKTHROUGH = re.compile(r"<!-- walkthrough -->\n```(?:sh|bash)\n(.*?)```", re.S)
DECISION_ID = re.compile(r"\b[TACD][0-9]{1,3}\b")
SETUP = ("make test", "make run")


def walkthrough() -> list[str]:
    return WALKTHROUGH.findall(README.read_text(encoding="utf-8"))


def test_walkthrough_sets_up_with_the_two_make_commands_only() -> None:
    blocks = walkthrough()
    assert len(blocks) >= 7
    setup = [line.split("#")[0].strip() for line in blocks[0].splitlines()]
    assert [line for line in setup if line] == list(SETUP)
    for block in blocks[1:]:
        assert not re.search(r"^\s*(make|pip|sudo)\b", block, re.M), block


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``bgmock serve`` as ``make run`` starts it, on a free port (its log in a file: a pipe
    nobody reads would fill up and stall the server)."""
    port = free_port()
    bgmock = Path(sys.executable).with_name("bgmock")
    command = [str(bgmock)] if bgmock.exists() else [sys.executable, "-m", "bgmock.server"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BGMOCK_")}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen([*command, "serve", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/__admin/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            log.close()
            pytest.fail("bgmock serve did not start: "
                        + (tmp_path / "server.log").read_text(errors="replace")[-2000:])
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}", server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("curl") is None,
                    reason="the walkthrough needs bash and curl")
def test_walkthrough_runs_in_order_against_a_fresh_server(
        served: tuple[str, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    address, _ = served
    tmp_path = tmp_path / "repo"
    # The repository folder as `make` leaves it, as far as the blocks look: .venv/bin/python.
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    script = "\n".join(block.replace("127.0.0.1:8080", address) for block in walkthrough()[1:])
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("BGMOCK_", "PYTEST_"))},
           "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    out = done.stdout
    assert done.returncode == 0, f"stdout:\n{out}\nstderr:\n{done.stderr}"
    expected = [
        '"status":"ok"',                                        # 2. health
        "PUT: HTTP 200", '"result":true',                       # 3. upload + check
        ": success", "cut-out: HTTP 200", "cut-out: PNG RGBA",  # 4. poll, download
        '"success":true',                                       # 5. Aidge
        '"code":"4100"',                                        # 6. the fault ...
        "S3 URL a day later: HTTP 403",                         # 7. the clock
        "CloudFront URL a day later: HTTP 200",
        "2 passed",                                             # 8. the pytest plugin
    ]
    missing = [text for text in expected if text not in out]
    assert not missing, f"{missing} not in:\n{out}"
    fault = out[out.index('"code":"4100"'):]
    assert '"taskId"' in fault, "the fault rule with count 1 is used up by one submit"


def test_every_decision_the_readme_or_code_cites_is_in_docs_decisions() -> None:
    defined = set(re.findall(r"^\| ([TACD][0-9]{1,3}) \|", DECISIONS.read_text(encoding="utf-8"),
                             re.M))
    sources = [README, *(ROOT / "docs").glob("*.md")]
    for folder in ("mock_server", "client", "contracts", "bench"):
        sources += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".json")]
    cited: dict[str, set[str]] = {}
    for path in sources:
        for found in DECISION_ID.findall(path.read_text(encoding="utf-8")):
            cited.setdefault(found, set()).add(str(path.relative_to(ROOT)))
    missing = {d: sorted(where) for d, where in cited.items() if d not in defined}
    assert not missing, f"cited but not defined in docs/decisions.md: {missing}"
    assert {"T31", "T16", "T17", "A15", "A19", "A20", "C7"} <= set(cited)


def test_readme_lists_every_fault_operation_per_provider() -> None:
    text = README.read_text(encoding="utf-8")
    for provider in contracts.providers():
        listed = re.search(rf"^- {provider.capitalize()}: (.+)$", text, re.M)
        assert listed, f"no fault operation list for {provider}"
        names = re.findall(r"`([a-z_]+)`", listed.group(1))
        assert names == list(contracts.operations(provider)["operations"])


def test_the_reference_plugin_example_passes(tmp_path: Path) -> None:
    block = re.search(r"<!-- pytest-example -->\n```python\n(.*?)```",
                      README.read_text(encoding="utf-8"), re.S)
    assert block, "README lost its pytest plugin example"
    (tmp_path / "test_example.py").write_text(block.group(1), encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_example.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
