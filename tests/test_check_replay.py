"""Record and replay (issue 12 part 4): ``bgmock check --record DIR`` writes every exchange,
secrets redacted and images stored once; ``bgmock serve --replay DIR`` answers matching requests
with the recorded answers, ids and URLs rewritten to the mock's own."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bgmock.check.cli import main as check_main
from bgmock.check.observe import Exchange
from bgmock.check.record import Recorder
from bgmock.check.registry import all_checks
from bgmock.check.runner import run_checks
from bgmock.check.targets import DEMO_CREDENTIALS, InprocTarget
from bgmock.contracts.recording import MIN_BLOB_CHARS, REDACTED, as_base64
from bgmock.server.app import create_app
from bgmock.server.cli import main as serve_main
from bgmock.server.core import replay
from bgmock.server.core.replay import Recording, RecordingError
from bgmock.server.settings import Settings
from bgmock.server.testing import InProcessMock, SyncASGITransport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.topview_chain import DEMO, ONE_POLL, OPERATIONS, product_png

BASE = "http://bgmock.test"


# --- a whole `bgmock check` run, recorded, then replayed -------------------------------------

def _run(target: InprocTarget, sinks: list[Any]) -> Any:
    return asyncio.run(run_checks(all_checks(), target, sinks))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Exchange]]]:
    folder = tmp_path_factory.mktemp("recording")
    seen: list[Exchange] = []
    recorder = Recorder(folder)
    run = _run(InprocTarget(), [recorder, seen.append])
    recorder.close()
    assert run.count("fail") == 0, [(r.check.name, r.reason) for r in run.results
                                    if r.status == "fail"]
    yield folder, seen


@pytest.fixture(scope="module")
def replayed(recorded: tuple[Path, list[Exchange]]) -> tuple[Any, list[Exchange]]:
    folder, _ = recorded
    seen: list[Exchange] = []
    app = create_app(Settings(clock="virtual", replay=str(folder)))
    run = _run(InprocTarget(app), [seen.append])
    return run, seen


def shape(value: Any) -> Any:
    """Keys and JSON types, no values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def test_a_replayed_check_run_answers_with_the_recorded_shapes(
        recorded: tuple[Path, list[Exchange]], replayed: tuple[Any, list[Exchange]]) -> None:
    _, first = recorded
    run, second = replayed
    assert run.count("fail") == 0, [(r.check.name, r.reason, r.diff[:300])
                                    for r in run.results if r.status == "fail"]
    assert len(second) == len(first)
    replayed_answers = 0
    for a, b in zip(first, second, strict=True):
        assert (a.provider, a.operations, a.method, a.status) == \
               (b.provider, b.operations, b.method, b.status), (a.url, b.url)
        if a.storage:
            continue
        assert shape(a.json()) == shape(b.json()), (a.url, a.json(), b.json())
        if b.response_headers.get("x-bgmock-replayed") == "1":
            replayed_answers += 1
    # every provider answer of the run matched a recorded one (a fresh mock per check)
    assert replayed_answers == sum(1 for a in first if a.operations and not a.storage)


def test_the_record_run_redacts_every_secret(recorded: tuple[Path, list[Exchange]]) -> None:
    folder, _ = recorded
    text = "\n".join(p.read_text() for p in (folder / "exchanges").glob("*.json"))
    secrets = [DEMO_CREDENTIALS["topview"]["api_key"], DEMO_CREDENTIALS["runware"]["api_key"],
               DEMO_CREDENTIALS["picpik"]["public_key"], DEMO_CREDENTIALS["aidge"]["secret"],
               DEMO_CREDENTIALS["picpik"]["private_key"]]
    for secret in secrets:
        assert secret not in text
    assert not re.search(r'"app_key": "(?!<redacted>)', text)
    for field in ("Signature", "sign", "PublicKey", "apiKey", "authorization", "topview-uid"):
        values = set(re.findall(rf'"{field}": ("[^"]*")', text))
        assert values == {f'"{REDACTED}"'}, (field, values)
    for name in ("X-Amz-Signature", "X-Amz-Credential", "Signature", "OSSAccessKeyId"):
        for value in re.findall(rf"[?&]{name}=([^&\"]*)", text):
            assert value == "%3Credacted%3E", (name, value)


def test_images_are_stored_once_by_content_hash(recorded: tuple[Path, list[Exchange]]) -> None:
    folder, _ = recorded
    manifest = json.loads((folder / "manifest.json").read_text())
    blobs = list((folder / "blobs").iterdir())
    assert manifest["blobs"] == len(blobs) > 0
    assert manifest["blob_hits"] > 0  # the same product photo, sent again, not written again
    for blob in blobs:
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    for path in (folder / "exchanges").glob("*.json"):
        for value in re.findall(rf'"([^"]{{{MIN_BLOB_CHARS},}})"', path.read_text()):
            assert as_base64(value) is None, path.name


def test_check_cli_writes_a_recording_serve_can_replay(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "rec"
    assert check_main(["--provider", "topview", "-k", "remove_background",
                       "--record", str(folder)]) == 0
    assert "recorded" in capsys.readouterr().out
    recording = Recording.load(folder)
    assert recording.providers == {"topview"} and recording.downloads
    assert check_main(["--record", "/proc/no/such/dir", "--provider", "topview"]) == 3


# --- ids and URLs: a recording from elsewhere (the live API) -----------------------------------

LIVE_TASK, LIVE_FILE = "live0task0000000000000000000001", "live0file0000000000000000000001"
CDN = "https://cdn.topview.example"


def _call(http: httpx.Client, operation: str, headers: dict[str, str] = DEMO,
          **kwargs: Any) -> httpx.Response:
    op = OPERATIONS[operation]
    return http.request(op["method"], f"/topview{op['path']}", headers=headers, **kwargs)


def _flow(http: httpx.Client) -> list[httpx.Response]:
    """Upload, remove the background, query, download the cut-out."""
    grant = _call(http, "upload_credential", params={"format": "png"})
    result = grant.json()["result"]
    put = http.put(result["uploadUrl"], content=product_png())
    submit = _call(http, "remove_background_submit", ONE_POLL,
                   json={"productImageFileId": result["fileId"]})
    query = _call(http, "remove_background_query",
                  params={"taskId": submit.json()["result"]["taskId"]})
    download = http.get(query.json()["result"]["bgRemovedImagePath"])
    return [grant, put, submit, query, download]


class _Observed(httpx.BaseTransport):
    """A sync transport handing every exchange to the recorder, as the check observer does."""

    def __init__(self, inner: SyncASGITransport, recorder: Recorder) -> None:
        from bgmock.check.observe import ObservingTransport

        self.inner = inner
        self.observer = ObservingTransport(inner._async, [recorder], provider="topview",
                                           root_path="/topview")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = self.inner.handle_request(request)
        self.observer.observe(request, body, response, response.read())
        return response


@pytest.fixture
def live_like(tmp_path: Path) -> tuple[Path, list[httpx.Response]]:
    """A Topview flow recorded, then made to look like a live run: other ids, other hosts."""
    mock = InProcessMock()
    recorder = Recorder(tmp_path)
    try:
        with httpx.Client(transport=_Observed(mock.transport, recorder), base_url=BASE) as http:
            answers = _flow(http)
    finally:
        mock.close()
    recorder.close()
    task = answers[2].json()["result"]["taskId"]
    file_id = answers[3].json()["result"]["bgRemovedImageFileId"]
    for path in (tmp_path / "exchanges").glob("*.json"):
        text = path.read_text().replace(task, LIVE_TASK).replace(file_id, LIVE_FILE)
        path.write_text(text.replace(f"{BASE}/files/", f"{CDN}/files/"))
    return tmp_path, answers


def test_replay_maps_recorded_ids_to_the_mock_and_urls_to_recorded_bytes(
        live_like: tuple[Path, list[httpx.Response]]) -> None:
    folder, recorded = live_like
    mock = InProcessMock(Settings(clock="virtual", replay=str(folder)))
    try:
        with mock.client() as http:
            _, put, submit, query, download = _flow(http)
        task = submit.json()["result"]["taskId"]
        assert mock.task(task)["id"] == task  # a task the mock knows
    finally:
        mock.close()
    assert put.status_code == 200  # the mock's own upload URL, not the recorded one
    task = submit.json()["result"]["taskId"]
    assert submit.headers["x-bgmock-replayed"] == "1" and task != LIVE_TASK
    result = query.json()["result"]
    assert result["taskId"] == task and LIVE_TASK not in query.text
    assert result["bgRemovedImageFileId"] not in (LIVE_FILE, "")
    sha = hashlib.sha256(recorded[4].content).hexdigest()
    # the recorded download, served by the mock; the URL keeps its query's names (signature
    # values redacted)
    assert result["bgRemovedImagePath"].startswith(f"{BASE}/files/replay/{sha}?X-Amz-")
    assert CDN not in query.text
    assert download.status_code == 200 and download.content == recorded[4].content
    assert shape(query.json()) == shape(recorded[3].json())
    assert query.json()["result"]["costCredit"] == recorded[3].json()["result"]["costCredit"]


def test_what_the_recording_lacks_is_answered_as_usual(
        live_like: tuple[Path, list[httpx.Response]]) -> None:
    folder, _ = live_like
    mock = InProcessMock(Settings(clock="virtual", replay=str(folder)))
    with mock.client() as http:
        voices = _call(http, "voice_query", params={"pageNo": 1, "pageSize": 2})
        refused = _call(http, "upload_credential", {**DEMO, "Authorization": "Bearer nope"},
                        params={"format": "png"})
        unknown = _call(http, "remove_background_query", params={"taskId": "f" * 32})
        missing = http.get(f"{BASE}/files/replay/{'0' * 64}")
    mock.close()
    assert "x-bgmock-replayed" not in voices.headers and voices.json()["code"] == "200"
    # the recording has a granted upload; the mock refuses this key: the mock's word wins
    assert "x-bgmock-replayed" not in refused.headers and refused.json()["code"] != "200"
    assert "x-bgmock-replayed" not in unknown.headers and unknown.json()["code"] != "200"
    assert missing.status_code == 404 and "NoSuchKey" in missing.text


def test_a_flow_replays_again_after_a_reset(
        live_like: tuple[Path, list[httpx.Response]]) -> None:
    folder, _ = live_like
    mock = InProcessMock(Settings(clock="virtual", replay=str(folder)))
    try:
        with mock.client() as http:
            first = _flow(http)
            mock.reset()
            again = _flow(http)
    finally:
        mock.close()
    assert first[2].headers.get("x-bgmock-replayed") == "1"
    for a, b in zip(first, again, strict=True):
        assert a.status_code == b.status_code and a.headers.get("x-bgmock-replayed") == \
               b.headers.get("x-bgmock-replayed")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                         lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                         max_leaves=12),
       task=st.text(max_size=40))
def test_any_request_under_replay_gets_the_providers_envelope(
        replay_app: Any, body: Any, task: str) -> None:
    http: httpx.Client = replay_app
    for response in (_call(http, "remove_background_submit", json=body),
                     _call(http, "remove_background_query", params={"taskId": task}),
                     _call(http, "upload_credential", params={"format": task})):
        assert response.status_code < 500
        assert set(response.json()) >= {"code", "message"}


@pytest.fixture(scope="module")
def replay_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    folder = tmp_path_factory.mktemp("fuzz")
    mock = InProcessMock()
    recorder = Recorder(folder)
    with httpx.Client(transport=_Observed(mock.transport, recorder), base_url=BASE) as http:
        _flow(http)
    mock.close()
    recorder.close()
    replaying = InProcessMock(Settings(clock="virtual", replay=str(folder)))
    with replaying.client() as http:
        yield http
    replaying.close()


# --- bounds and bad folders ------------------------------------------------------------------

def _exchange(i: int, image: bytes) -> Exchange:
    body = json.dumps({"image": base64.b64encode(image).decode(), "n": i}).encode()
    return Exchange("runware", "image_upload", "POST", f"{BASE}/runware/v1",
                    {"content-type": "application/json"}, body, 200,
                    {"content-type": "application/json"}, b'{"data": []}',
                    operations=("image_upload",))


def test_a_record_run_is_bounded(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, max_exchanges=3)
    image = product_png()
    for i in range(5):
        recorder(_exchange(i, image))
    recorder.close()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (manifest["exchanges"], manifest["dropped"]) == (3, 2)
    assert len(list((tmp_path / "exchanges").iterdir())) == 3
    assert (manifest["blobs"], manifest["blob_hits"]) == (1, 2)
    small = Recorder(tmp_path / "small", max_bytes=len(image) // 2)
    small(_exchange(0, image))
    assert small.totals.exchanges == 0 and small.totals.dropped == 1


def test_loading_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder(tmp_path)
    for i in range(3):
        recorder(_exchange(i, product_png()))
    recorder.close()
    assert len(Recording.load(tmp_path).order) == 3
    monkeypatch.setattr(replay, "MAX_EXCHANGES", 2)
    with pytest.raises(RecordingError, match="more than 2 exchanges"):
        Recording.load(tmp_path)
    monkeypatch.setattr(replay, "MAX_EXCHANGES", 100)
    monkeypatch.setattr(replay, "MAX_TOTAL_BYTES", 100)
    with pytest.raises(RecordingError, match="size limits"):
        Recording.load(tmp_path)


@pytest.mark.parametrize("damage", ["missing", "not_json", "no_manifest", "bad_blob"])
def test_a_bad_replay_folder_is_one_line_and_status_2(
        tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "rec"
    if damage != "missing":
        recorder = Recorder(folder)
        recorder(_exchange(0, product_png()))
        recorder.close()
    if damage == "not_json":
        next((folder / "exchanges").glob("*.json")).write_text("{nope")
    elif damage == "no_manifest":
        (folder / "manifest.json").unlink()
    elif damage == "bad_blob":
        next((folder / "blobs").iterdir()).write_bytes(b"tampered")
    assert serve_main(["serve", "--replay", str(folder), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bgmock: --replay: ") and err.count("\n") == 1, err
    monkeypatch.setenv("BGMOCK_REPLAY", str(folder))
    assert serve_main(["serve", "--port", "0"]) == 2
    assert capsys.readouterr().err.startswith("bgmock: BGMOCK_REPLAY: ")


def test_a_body_over_the_limit_passes_on_to_the_provider(
        live_like: tuple[Path, list[httpx.Response]]) -> None:
    folder, _ = live_like
    mock = InProcessMock(Settings(clock="virtual", replay=str(folder), max_image_bytes=1024))
    try:
        with mock.client() as http:
            big = _call(http, "remove_background_submit",
                        content=b'{"productImageFileId": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                        headers={**DEMO, "content-type": "application/json"})
            small = _call(http, "credit_detail")
    finally:
        mock.close()
    assert big.status_code < 500 and big.json()["code"] != "200"
    assert "x-bgmock-replayed" not in big.headers
    assert small.json()["code"] == "200"
