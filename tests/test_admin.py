"""The control plane: /__admin."""

from __future__ import annotations

import httpx
import pytest

from mock_server.settings import Settings
from mock_server.testing import InProcessMock
from tests.conftest import CREDIT, DEMO, Api


def test_health_reports_providers_and_clock(api: Api) -> None:
    health = api.controls.health()
    assert health["status"] == "ok" and health["providers"] == ["aidge", "topview"]
    assert health["clock"]["mode"] == "virtual"


def test_reset_restores_the_fresh_state(api: Api) -> None:
    api.controls.set_account("topview", "NsDAaOPF4jLuAie4ewyg", credits=3)
    api.controls.fault("topview", "error=5000")
    api.controls.advance(100)
    assert api.get(CREDIT).json()["code"] == "5000"
    api.controls.reset()
    assert api.get(CREDIT).json()["result"]["remainCredit"] == 1000
    assert api.controls.http.get(f"{api.controls.base_url}/__admin/faults").json() == []
    assert api.controls.clock()["offset"] == 0
    assert {t["id"] for t in api.controls.tasks()} == {
        "56eac11a862143989e9cc63f8b213a2d", "4274b375c30844c8bd0b1e4b6e44fb5f"}


def test_clock_advances_and_never_goes_back(api: Api) -> None:
    start = api.controls.clock()["now"]
    assert api.controls.advance(90)["now"] == pytest.approx(start + 90)
    response = api.controls.http.post(f"{api.controls.base_url}/__admin/clock/advance",
                                      json={"seconds": -1})
    assert response.status_code == 422


def test_fault_rules_are_listed_and_deleted(api: Api) -> None:
    rule = api.controls.fault("topview", "error=4100;delay=0", operation="credit_detail",
                              count=3)
    assert rule["fault"] == "error=4100" and rule["remaining"] == 3
    base = f"{api.controls.base_url}/__admin/faults"
    assert api.get(CREDIT).json()["code"] == "4100"
    assert api.controls.http.get(base).json()[0]["hits"] == 1
    assert api.controls.http.delete(f"{base}/{rule['id']}").status_code == 200
    assert api.controls.http.delete(f"{base}/{rule['id']}").status_code == 404
    assert api.get(CREDIT).json()["code"] == "200"


@pytest.mark.parametrize("body", [
    {"provider": "nope", "fault": "error=4000"},
    {"provider": "topview", "fault": "bogus"},
    {"provider": "topview", "fault": ""},
    {"provider": "topview", "fault": "error=4000", "count": 0},
])
def test_bad_fault_rules_are_refused(api: Api, body: dict) -> None:
    response = api.controls.http.post(f"{api.controls.base_url}/__admin/faults", json=body)
    assert response.status_code in (400, 404, 422)


def test_tasks_show_their_state_now(api: Api) -> None:
    file_id = api.upload(b"not an image")
    task_id = api.submit(file_id)
    assert api.controls.task(task_id)["status"] == "init"
    api.controls.advance(2)
    assert api.controls.task(task_id)["status"] == "running"
    api.controls.advance(10)
    task = api.controls.task(task_id)
    assert task["status"] == "fail" and task["error"]
    assert [t["id"] for t in api.controls.tasks("topview") if t["id"] == task_id]
    missing = api.controls.http.get(f"{api.controls.base_url}/__admin/tasks/nope")
    assert missing.status_code == 404


def test_accounts_can_be_created_and_changed(api: Api) -> None:
    created = api.controls.set_account("topview", "team-a", secret="sk-team-a", credits=2,
                                       concurrency=1)
    assert created["credits"] == 2 and created["concurrency"] == 1
    headers = {"Topview-Uid": "team-a", "Authorization": "Bearer sk-team-a"}
    assert api.http.get(CREDIT, headers=headers).json()["result"]["remainCredit"] == 2
    base = f"{api.controls.base_url}/__admin/accounts"
    assert api.controls.http.put(f"{base}/topview/new", json={"credits": 1}).status_code == 400
    assert api.controls.http.get(f"{base}/nope").status_code == 404
    assert api.controls.http.get(f"{base}/topview/ghost").status_code == 404
    assert {a["key"] for a in api.controls.http.get(base).json()} >= {"team-a",
                                                                      "NsDAaOPF4jLuAie4ewyg"}


def test_journal_is_bounded_and_filterable() -> None:
    mock = InProcessMock(Settings(clock="virtual", journal_size=5))
    try:
        with mock.client() as http:
            for _ in range(8):
                http.get(CREDIT, headers=DEMO)
        entries = mock.journal()
        assert len(entries) == 5 and entries[-1]["seq"] == 8
        assert len(mock.journal(limit=2)) == 2
        assert mock.journal(operation="remove_background_query") == []
        mock.http.delete(f"{mock.base_url}/__admin/journal")
        assert mock.journal() == []
    finally:
        mock.close()


def test_admin_token_protects_the_control_plane() -> None:
    mock = InProcessMock(Settings(clock="virtual", admin_token="s3cret"))
    try:
        with mock.client() as http:
            assert http.get("/__admin/health").status_code == 401
            ok = http.get("/__admin/health", headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200
            assert http.get(CREDIT, headers=DEMO).json()["code"] == "200"  # providers unaffected
    finally:
        mock.close()


def test_admin_openapi_documents_every_action(http: httpx.Client) -> None:
    paths = http.get("/__admin/openapi.json").json()["paths"]
    for path in ("/health", "/reset", "/clock", "/clock/advance", "/faults", "/faults/{rule_id}",
                 "/journal", "/tasks", "/tasks/{task_id}", "/accounts",
                 "/accounts/{provider}/{key}"):
        assert path in paths, path


def test_index_lists_providers(http: httpx.Client) -> None:
    index = http.get("/").json()
    assert index["providers"]["topview"]["hosts"] == ["api.topview.ai"]
