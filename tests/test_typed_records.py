"""Typed records (D85-D88): provider limits checked wherever they are written, config accounts
checked at start-up, the journal's core fields out of reach of extras, providers declared by
one protocol, provider settings by one registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bgmock.server.app import create_app
from bgmock.server.core.accounts import Account, NoLimits
from bgmock.server.core.engine import Engine
from bgmock.server.core.journal import FIELDS, Entry, Journal
from bgmock.server.providers import SETTINGS, all_providers
from bgmock.server.providers.aidge.fixtures import AidgeLimits
from bgmock.server.settings import Settings, resolve
from starlette.testclient import TestClient


def accounts_of(settings: Settings, provider: str) -> dict[str, dict[str, Any]]:
    engine = Engine(settings, all_providers())
    return {a.key: a.snapshot() for a in engine.accounts.select(provider)}


# --- limits records -----------------------------------------------------------------------

def test_a_limit_refuses_a_value_it_cannot_hold() -> None:
    limits = AidgeLimits()
    for name, value in (("qps", "ten"), ("quota", -1), ("quota", 1.5), ("trial_quota", True),
                        ("burst", 0), ("quota", None)):
        with pytest.raises(ValueError, match=f"extra.{name} must be an integer"):
            limits[name] = value
    with pytest.raises(KeyError):
        limits["credits"] = 1
    with pytest.raises(KeyError):
        limits["nope"]
    limits["qps"] = None  # a rate limit may be off
    limits["quota"] -= 1
    assert (limits.qps, limits["quota"]) == (None, 999)


def test_the_admin_api_keeps_todays_bodies_and_refuses_bad_limits() -> None:
    app = create_app(Settings(clock="virtual"))
    with TestClient(app) as http:
        ok = http.put("/__admin/accounts/aidge/512345", json={"extra": {"qps": 10}})
        bad = http.put("/__admin/accounts/aidge/512345", json={"extra": {"qps": "ten"}})
        unknown = http.put("/__admin/accounts/aidge/512345", json={"extra": {"rpm": 1}})
        topview = http.put("/__admin/accounts/topview/u2",
                           json={"secret": "s", "credits": 5, "concurrency": 1})
        no_extra = http.put("/__admin/accounts/topview/u2", json={"extra": {"qps": 1}})
    assert ok.status_code == 200 and ok.json()["extra"]["qps"] == 10
    assert bad.status_code == 400 and "qps" in bad.json()["detail"]
    assert unknown.status_code == 400 and "unknown limit 'rpm'" in unknown.json()["detail"]
    assert topview.status_code == 200 and topview.json()["extra"] == {}
    assert no_extra.status_code == 400 and "(editable: none)" in no_extra.json()["detail"]


# --- config file accounts -----------------------------------------------------------------

def test_todays_documented_config_accounts_still_load(tmp_path: Path) -> None:
    config = tmp_path / "bgmock.json"
    config.write_text(json.dumps({"accounts": {
        "aidge": [{"app_key": "k", "secret": "s", "quota": 5}],
        "topview": [{"uid": "my-uid", "api_key": "sk-mine", "credits": 50, "concurrency": 2}]}}))
    settings = resolve({"config": str(config), "clock": "virtual"}, {})
    aidge = accounts_of(settings, "aidge")["k"]
    topview = accounts_of(settings, "topview")["my-uid"]
    assert aidge["extra"] == {"trial_quota": 100, "quota": 5, "qps": None, "burst": None}
    assert aidge["secret"] == "s"
    assert (topview["secret"], topview["credits"], topview["concurrency"]) == \
        ("sk-mine", 50.0, 2)


@pytest.mark.parametrize(("accounts", "message"), [
    ({"aidge": [{"app_key": "k", "secret": "s", "quota": "ten"}]},
     r"accounts.aidge\[0\].quota: expected an integer"),
    ({"aidge": [{"app_key": "k", "secret": "s", "qps": 0}]}, r"accounts.aidge\[0\].qps: must be"),
    ({"aidge": [{"app_key": "k"}]}, r"accounts.aidge\[0\].secret: required"),
    ({"aidge": [{"app_key": "k", "secret": "s", "rpm": 1}]}, "unknown field 'rpm'"),
    ({"topview": [{"uid": "u", "api_key": "k", "credits": -1}]}, "credits: must be"),
    ({"topview": [{"uid": "u", "api_key": "k", "concurrency": 2.5}]}, "concurrency: expected"),
    ({"topview": ["u"]}, "expected a table"),
    ({"topveiw": [{"uid": "u", "api_key": "k"}]}, "accounts.topveiw: unknown provider"),
])
def test_a_bad_config_account_stops_the_start_naming_it(accounts: dict[str, Any],
                                                        message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_app(Settings(clock="virtual", accounts=accounts))


def test_config_accounts_come_back_after_a_reset() -> None:
    settings = Settings(clock="virtual",
                        accounts={"topview": [{"uid": "u", "api_key": "k", "credits": 3}]})
    engine = Engine(settings, all_providers())
    engine.accounts.get("topview", "u").credits = 0  # type: ignore[union-attr]
    engine.reset()
    assert engine.accounts.get("topview", "u").credits == 3  # type: ignore[union-attr]


# --- journal entries ----------------------------------------------------------------------

def test_a_journal_entry_is_typed_and_its_core_fields_are_its_own() -> None:
    journal = Journal(4)
    extras = {name: "x" for name in FIELDS}
    entry = journal.record(2.0, "p", "op", "GET", "/", "", "key", 200, "ok", "", 0.5,
                           {**extras, "taskId": "t"})
    assert isinstance(entry, Entry)
    assert entry.extras == {"taskId": "t"}  # extras named like a core field are dropped
    (shown,) = journal.entries()
    assert {name: shown[name] for name in FIELDS} == {
        "seq": 1, "time": 2.0, "provider": "p", "operation": "op", "method": "GET",
        "path": "/", "query": "", "key": "key", "status": 200, "code": "ok", "fault": "",
        "durationMs": 0.5}


# --- one protocol, one registry -------------------------------------------------------------

def test_providers_declare_hosts_and_url_styles_through_the_protocol() -> None:
    topview, aidge = all_providers()[:2]  # the first two; later providers have their own tests
    engine = Engine(Settings(clock="virtual"), [topview, aidge])
    assert aidge.cloudfront_origins == {} and aidge.limits is AidgeLimits
    assert topview.limits is NoLimits
    assert engine.cloudfront_origins == dict(topview.cloudfront_origins)
    assert engine.provider_hosts == {*topview.hosts, *aidge.hosts}
    account = topview.new_account(engine, "k", "s")
    assert isinstance(account, Account) and account.snapshot()["extra"] == {}


def test_provider_settings_come_from_the_registry_under_their_old_names() -> None:
    assert set(SETTINGS) == {"aidge", "picpik"}
    settings = resolve({}, {"BGMOCK_AIDGE_URL_TTL": "60", "BGMOCK_AIDGE_MAX_IMAGE_BYTES": "99"})
    assert settings.provider("aidge").url_ttl == settings.aidge_url_ttl == 60
    assert settings.provider("aidge").max_image_bytes == 99
    assert Settings(aidge_url_ttl=5).provider("aidge").url_ttl == 5
    with pytest.raises(ValueError, match="aidge_url_ttl: must be in 1"):
        Settings(aidge_url_ttl=-5)
