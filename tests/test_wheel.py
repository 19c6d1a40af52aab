"""Installed from its wheel, bgmock is one package, ``bgmock``, and shadows nothing of the user's.

Builds the wheel, installs it into a fresh virtual environment outside the repository and, from
a scratch project that has its own ``contracts/``, ``client.py`` and ``mock_server/``, runs
``bgmock serve`` and one request, imports the clients, and runs a small pytest file that uses the
``bgmock`` fixture (D104).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from bgmock.server.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
TOPVIEW = {"Topview-Uid": "NsDAaOPF4jLuAie4ewyg",
           "Authorization": "Bearer sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"}
DOCS_TASK = "56eac11a862143989e9cc63f8b213a2d"


def run(*argv: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, f"{argv}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(venv python, the wheel, the build's output)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # the working tree's files only: no stale build/ of the repository
    listed = run("git", "ls-files", "-co", "--exclude-standard", cwd=ROOT).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    build = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", work / "dist", source,
                cwd=work)
    (wheel,) = (work / "dist").glob("bgmock-*.whl")
    run(sys.executable, "-m", "venv", work / "venv", cwd=work)
    python = work / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel,
        "pytest", cwd=work, timeout=600)
    return python, wheel, build.stdout + build.stderr


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A user's project whose own top-level names are the repository's folder names."""
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "__init__.py").write_text("OWNER = 'the user'\n")
    (tmp_path / "client.py").write_text("OWNER = 'the user'\n")
    (tmp_path / "mock_server").mkdir()
    (tmp_path / "mock_server" / "__init__.py").write_text("OWNER = 'the user'\n")
    return tmp_path


def test_the_wheel_holds_one_package_and_the_contracts(installed: tuple[Path, Path, str]) -> None:
    _, wheel, output = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.startswith("bgmock-")}
    assert tops == {"bgmock"}
    assert "bgmock/contracts/topview/operations.json" in names
    assert "bgmock/contracts/aidge/cut_out.request.json" in names
    assert "Warning" not in output, output[-3000:]  # no deprecation, no ignored package data


def test_bgmock_serve_answers_from_a_scratch_project(installed: tuple[Path, Path, str],
                                                     scratch: Path) -> None:
    python, _, _ = installed
    port = free_port()
    server = subprocess.Popen([python.with_name("bgmock"), "serve", "--port", str(port)],
                              cwd=scratch, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": ""})
    try:
        url = (f"http://127.0.0.1:{port}/topview/v1/common_task/remove_background/query"
               f"?taskId={DOCS_TASK}")
        deadline, answer = time.monotonic() + 30, None
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=TOPVIEW),
                                            timeout=5) as response:
                    answer = response.read()
            except OSError:
                time.sleep(0.1)
        assert answer is not None, server.stderr.read().decode() if server.stderr else ""
        assert b'"status":"success"' in answer
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert server.returncode == 0


def test_the_clients_import_beside_the_users_own_names(installed: tuple[Path, Path, str],
                                                      scratch: Path) -> None:
    python, _, _ = installed
    out = run(python, "-c", textwrap.dedent("""
        import client, contracts, mock_server
        from bgmock import contracts as ours
        from bgmock.client.aidge import AidgeClient
        from bgmock.client.topview import AsyncTopviewClient, TopviewClient
        print(client.OWNER, contracts.OWNER, mock_server.OWNER, ours.providers())
        """), cwd=scratch).stdout
    assert out.split("[")[0].split() == ["the", "user", "the", "user", "the", "user"]
    assert "'topview'" in out and "'aidge'" in out


def test_the_pytest_plugin_works_from_a_scratch_project(installed: tuple[Path, Path, str],
                                                       scratch: Path) -> None:
    python, _, _ = installed
    (scratch / "test_mine.py").write_text(textwrap.dedent(f"""
        import httpx
        import mock_server

        from bgmock.client.topview import TopviewClient

        def test_docs_task(bgmock):
            with httpx.Client(transport=bgmock.transport) as http:
                client = TopviewClient({TOPVIEW["Topview-Uid"]!r},
                                       {TOPVIEW["Authorization"][7:]!r},
                                       bgmock.url("topview"), http_client=http)
                assert client.query_remove_background({DOCS_TASK!r})["status"] == "success"
            assert mock_server.OWNER == "the user"
        """))
    done = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py",
               cwd=scratch)
    assert "1 passed" in done.stdout


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    """A new provider's package joins ``[tool.setuptools] packages`` (adding-a-provider.md)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {installed: ROOT / folder for installed, folder in config["package-dir"].items()}
    found = set()
    for installed, folder in folders.items():
        for init in (*folder.rglob("__init__.py"), *folder.rglob("operations.json")):
            parts = init.parent.relative_to(folder).parts  # a contracts folder is a data package
            found.add(".".join((installed, *parts)))
    assert set(config["packages"]) == found
