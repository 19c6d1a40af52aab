"""Settings precedence, the CLI, and determinism under a seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mock_server.cli import main
from mock_server.settings import Settings, resolve
from mock_server.testing import InProcessMock
from tests.topview_calls import DEMO, SUBMIT


def test_defaults_are_safe() -> None:
    settings = resolve({}, environ={})
    assert settings.host == "127.0.0.1" and settings.port == 8080
    assert settings.clock == "real" and not settings.allow_fetch


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "bgmock.json"
    config.write_text(json.dumps({"port": 7000, "seed": 4, "speed": 2, "accounts": {
        "topview": [{"uid": "u1", "api_key": "sk-1", "credits": 5}]}}))
    env = {"BGMOCK_CONFIG": str(config), "BGMOCK_PORT": "7100", "BGMOCK_INSTANT": "true"}
    settings = resolve({"port": 7200}, environ=env)
    assert (settings.port, settings.seed, settings.speed, settings.instant) == (7200, 4, 2.0, True)
    assert settings.accounts["topview"][0]["uid"] == "u1"


def test_toml_config(tmp_path: Path) -> None:
    config = tmp_path / "bgmock.toml"
    config.write_text('clock = "virtual"\nfetch_allowlist = ["a.example"]\n')
    settings = resolve({"config": str(config)}, environ={})
    assert settings.clock == "virtual" and settings.fetch_allowlist == ("a.example",)


@pytest.mark.parametrize("env", [{"BGMOCK_CLOCK": "sundial"}, {"BGMOCK_SPEED": "0"},
                                 {"BGMOCK_INSTANT": "perhaps"}, {"BGMOCK_PORT": "70000"}])
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        resolve({}, environ=env)


def test_config_accounts_can_log_in(tmp_path: Path) -> None:
    mock = InProcessMock(Settings(clock="virtual", accounts={
        "topview": [{"uid": "team", "api_key": "sk-team", "credits": 7}]}))
    try:
        with mock.client() as http:
            body = http.get("/topview/user/credit/detail",
                            headers={"Topview-Uid": "team", "Authorization": "Bearer sk-team"})
        assert body.json()["result"]["remainCredit"] == 7
    finally:
        mock.close()


def test_cli_help_explains_every_flag() -> None:
    out = subprocess.run([sys.executable, "-m", "mock_server", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for flag in ("--host", "--port", "--clock", "--speed", "--instant", "--seed", "--config"):
        assert flag in out
    assert "BGMOCK_PORT" in out


def test_cli_rejects_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--speed", "-1"]) == 2
    assert "speed" in capsys.readouterr().err


def test_cli_prints_openapi_and_contracts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi", "topview"]) == 0
    assert json.loads(capsys.readouterr().out)["openapi"] == "3.1.0"
    assert main(["contracts"]) == 0
    assert "topview/remove_background_submit.request" in capsys.readouterr().out
    assert main(["openapi", "nobody"]) == 2


def test_same_seed_same_ids_and_bytes() -> None:
    def run(seed: int) -> tuple[str, bytes]:
        mock = InProcessMock(Settings(clock="virtual", seed=seed, instant=True))
        try:
            with mock.client() as http:
                body = http.post(SUBMIT, json={"productImageFileId":
                                               "5a85c359bff14c95889e4652f1ec467e"}, headers=DEMO)
                task_id = body.json()["result"]["taskId"]
                result = http.get("/topview/v1/common_task/remove_background/query",
                                  params={"taskId": task_id}, headers=DEMO).json()["result"]
                return task_id, http.get(result["bgRemovedImagePath"]).content
        finally:
            mock.close()
    assert run(3) == run(3)
    assert run(3)[0] != run(4)[0]


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_serve_reads_env_and_stops_gracefully(signal_name: str) -> None:
    import os
    import signal
    import time

    import httpx

    from mock_server.testing import free_port

    port = free_port()
    env = {**os.environ, "BGMOCK_PORT": str(port), "BGMOCK_CLOCK": "virtual",
           "BGMOCK_LOG_LEVEL": "warning"}
    process = subprocess.Popen([sys.executable, "-m", "mock_server", "serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert health.json()["clock"]["mode"] == "virtual"
        process.send_signal(getattr(signal, signal_name))
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
