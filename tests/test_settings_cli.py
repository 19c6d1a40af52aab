"""Settings precedence, the CLI, and determinism under a seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bgmock.server.cli import main
from bgmock.server.settings import Settings, resolve
from bgmock.server.testing import InProcessMock
from hypothesis import given, settings
from hypothesis import strategies as st

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
    out = subprocess.run([sys.executable, "-m", "bgmock.server", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for flag in ("--host", "--port", "--clock", "--speed", "--instant", "--seed", "--config"):
        assert flag in out
    assert "BGMOCK_PORT" in out


def test_cli_rejects_bad_settings(capsys: pytest.CaptureFixture[str],
                                  never_serves: None) -> None:
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
    from bgmock.server.testing import free_port

    port = free_port()
    env = {**os.environ, "BGMOCK_PORT": str(port), "BGMOCK_CLOCK": "virtual",
           "BGMOCK_LOG_LEVEL": "warning"}
    process = subprocess.Popen([sys.executable, "-m", "bgmock.server", "serve"], env=env,
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


# -- every bad setting is one line naming where it came from, and exit status 2 ----------------

@pytest.fixture
def never_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad settings must stop before the port is bound: fail instead of serving."""
    def listen(*_: object) -> None:
        raise AssertionError("bad settings reached listen()")
    monkeypatch.setattr("bgmock.server.server.listen", listen)
    _no_bgmock_env(monkeypatch)


BAD_CONFIGS = [
    ({"accounts": {"topview": [{"uid": "u"}]}}, "accounts.topview[0].api_key: required"),
    ({"accounts": {"topview": [{"uid": "u", "api_key": "k", "credits": "lots"}]}},
     "accounts.topview[0].credits: expected a number, got 'lots'"),
    ({"accounts": {"topview": [{"uid": "u", "api_key": "k", "credits": -1}]}},
     "accounts.topview[0].credits: must be >= 0"),
    ({"accounts": {"topview": [{"uid": "u", "api_key": "k", "concurrency": True}]}},
     "accounts.topview[0].concurrency: expected an integer, got True"),
    ({"accounts": {"topview": {"uid": "u", "api_key": "k"}}},
     "accounts.topview: expected a list of accounts"),
    ({"accounts": {"topview": ["u"]}}, "accounts.topview[0]: expected a table"),
    ({"accounts": {"nosuch": [{"key": "k"}]}}, "accounts.nosuch: unknown provider"),
    ({"accounts": {"topview": [{"uid": "u", "api_key": "k", "colour": "red"}]}},
     "accounts.topview[0]: unknown field 'colour'"),
    ({"accounts": {"aidge": [{"app_key": "k"}]}}, "accounts.aidge[0].secret: required"),
    ({"accounts": {"aidge": [{"app_key": "k", "secret": "s", "qps": 0}]}},
     "accounts.aidge[0].qps: must be in 1.."),
    ({"accounts": {"aidge": [{"app_key": "k", "secret": "s", "quota": 1.5}]}},
     "accounts.aidge[0].quota: expected an integer"),
    ({"accounts": []}, "accounts: expected a table of providers"),
    ({"prot": 9000}, "prot: unknown setting (did you mean 'port'?)"),
    ({"port": "8080"}, "port: expected an integer, got '8080'"),
    ({"speed": 0}, "speed: must be >= 0.001"),
    ({"instant": "yes"}, "instant: expected true or false"),
    ({"fetch_allowlist": "a.example"}, "fetch_allowlist: expected a list of hosts"),
    ({"public_url": "localhost:8080"}, "public_url: expected an http(s) URL"),
]


@pytest.mark.parametrize(("config", "problem"), BAD_CONFIGS)
def test_a_bad_config_file_is_one_line_naming_the_file(
        config: dict, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        never_serves: None) -> None:
    path = tmp_path / "bgmock.json"
    path.write_text(json.dumps(config))
    assert main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"bgmock: {path}: {problem}"), err


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("bgmock.json", "{bad", "not valid JSON"),
    ("bgmock.json", '{"speed": NaN}', "speed: must be a finite number"),
    ("bgmock.json", '{"speed": Infinity}', "speed: must be a finite number"),
    ("bgmock.json", "[1, 2]", "expected a JSON object of settings, got list"),
    ("bgmock.json", "[" * 100_000, "nested too deeply"),
    ("bgmock.toml", "port = ", "not valid TOML"),
    ("bgmock.toml", "[[accounts.topview]]\nuid = 'u'\napi_key = 'k'\ncredits = inf\n",
     "accounts.topview[0].credits: must be a finite number"),
])
def test_unreadable_config_text(name: str, text: str, problem: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str], never_serves: None) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"bgmock: {path}: {problem}"), err


def test_a_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               never_serves: None) -> None:
    assert main(["serve", "--config", str(tmp_path / "nope.json")]) == 2
    assert capsys.readouterr().err == (f"bgmock: {tmp_path / 'nope.json'}: cannot read: "
                                       "No such file or directory\n")


def _no_bgmock_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("BGMOCK_")]:
        monkeypatch.delenv(name)


def test_an_environment_variable_is_named(capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch,
                                          never_serves: None) -> None:
    monkeypatch.setenv("BGMOCK_PORT", "abc")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == "bgmock: BGMOCK_PORT: expected an integer, got 'abc'\n"
    monkeypatch.delenv("BGMOCK_PORT")
    assert main(["serve", "--port", "abc"]) == 2
    assert capsys.readouterr().err == "bgmock: --port: expected an integer, got 'abc'\n"


@pytest.mark.parametrize(("name", "value"), [
    ("port", "-1"), ("port", "65536"), ("speed", "0"), ("speed", "-1"), ("speed", "inf"),
    ("speed", "nan"), ("speed", "1e9"), ("seed", "-1"), ("seed", str(2**64)),
    ("max_upload_bytes", "0"), ("max_image_bytes", "-5"), ("max_image_pixels", "0"),
    ("max_stored_bytes", str(2**70)), ("journal_size", "0"), ("journal_size", "10000000"),
    ("fetch_timeout", "0"), ("fetch_timeout", "inf"), ("fetch_timeout", "nan"),
    ("aidge_max_image_bytes", "0"), ("aidge_url_ttl", "0"), ("aidge_url_ttl", "1e3"),
    ("max_connections", "0"), ("max_header_bytes", "10"), ("max_headers", "0"),
    ("header_timeout", "0"), ("header_timeout", "inf"), ("keep_alive_timeout", "-1"),
    ("shutdown_timeout", "nan"), ("clock", "sundial"), ("log_level", "loud"),
    ("allow_fetch", "perhaps"), ("public_url", "ftp://x"), ("host", "h" * 300),
])
def test_every_setting_has_a_range(name: str, value: str) -> None:
    variable = f"BGMOCK_{name.upper()}"
    with pytest.raises(ValueError, match=rf"^{variable}: "):
        resolve({}, environ={variable: value})
    with pytest.raises(ValueError, match=rf"^{name}: "):
        Settings(**{name: resolve_value(name, value)})


def resolve_value(name: str, value: str) -> object:
    """The text as a Python value of roughly the right type (the range is what is wrong)."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def test_settings_in_range_are_taken(tmp_path: Path) -> None:
    settings = resolve({"header_timeout": "2.5"}, environ={
        "BGMOCK_MAX_CONNECTIONS": "50", "BGMOCK_KEEP_ALIVE_TIMEOUT": "70",
        "BGMOCK_FETCH_ALLOWLIST": "a.example, .b.example", "BGMOCK_ADMIN_TOKEN": ""})
    assert (settings.header_timeout, settings.max_connections, settings.keep_alive_timeout) \
        == (2.5, 50, 70.0)
    assert settings.fetch_allowlist == ("a.example", ".b.example")
    assert settings.admin_token is None


def test_accounts_are_checked_in_process_too() -> None:
    from bgmock.server.app import create_app

    with pytest.raises(ValueError, match=r"^accounts\.topview\[1\]\.api_key: required$"):
        create_app(Settings(accounts={"topview": [{"uid": "a", "api_key": "k"}, {"uid": "b"}]}))
    with pytest.raises(ValueError, match=r"^accounts\.aidge\[1\]\.app_key: 'k' appears twice"):
        create_app(Settings(accounts={"aidge": [{"app_key": "k", "secret": "s"}] * 2}))


def test_a_bad_config_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bgmock.json"
    path.write_text(json.dumps({"accounts": {"topview": [{"uid": "u", "credits": "lots"}]}}))
    done = subprocess.run([sys.executable, "-m", "bgmock.server", "serve", "--config", str(path)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr == f"bgmock: {path}: accounts.topview[0].api_key: required\n"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=3), max_leaves=10)
SETTING_NAMES = st.sampled_from([*Settings.__dataclass_fields__, "accounts", "nonsense"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(SETTING_NAMES, JSON_VALUES, max_size=4))
def test_any_config_is_taken_or_refused_with_a_value_error(config: dict) -> None:
    from bgmock.server.settings import from_mapping

    try:
        from_mapping(Settings(), config)
    except ValueError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400


ACCOUNT_FIELDS = st.sampled_from(["uid", "api_key", "credits", "concurrency", "app_key",
                                  "secret", "qps", "burst", "quota", "trial_quota", "x"])


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["topview", "aidge"]), st.lists(
    st.dictionaries(ACCOUNT_FIELDS, JSON_VALUES | st.text(min_size=1, max_size=5), max_size=4),
    max_size=2), max_size=2))
def test_any_accounts_are_seeded_or_refused_with_a_value_error(accounts: dict) -> None:
    from bgmock.server.app import create_app

    try:
        create_app(Settings(clock="virtual", accounts=accounts))
    except ValueError as exc:
        assert str(exc).startswith("accounts.") and "\n" not in str(exc)


def test_help_names_every_provider_and_its_prefix() -> None:
    from bgmock.server.cli import PROVIDERS
    from bgmock.server.providers import all_providers

    assert [(name.lower(), prefix) for name, prefix in PROVIDERS] == \
        [(p.name, p.prefix) for p in all_providers()]
    out = subprocess.run([sys.executable, "-m", "bgmock.server", "--help"],
                         capture_output=True, text=True, check=True).stdout
    flat = " ".join(out.split())
    for name, prefix in PROVIDERS:
        assert f"{name} under {prefix}" in flat


@settings(max_examples=300, deadline=None)
@given(SETTING_NAMES, st.text(max_size=30) | st.sampled_from(
    ["inf", "-inf", "nan", "1e309", "0x10", "1_000", " 8080 ", "true", "", "[]", "{}", "1e3"]))
def test_any_environment_text_is_taken_or_refused_naming_the_variable(name: str,
                                                                      value: str) -> None:
    variable = f"BGMOCK_{name.upper()}"
    try:
        resolve({}, environ={variable: value})
    except ValueError as exc:  # (a config file's own problems are named by its path)
        assert name == "config" or str(exc).startswith(f"{variable}: ")
        assert "\n" not in str(exc) and len(str(exc)) < 400
