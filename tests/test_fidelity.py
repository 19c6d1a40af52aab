"""Fidelity fixes: query booleans, repeated presigned PUTs, URL lifetimes, Aidge result URLs,
URLs behind a provider's real Host, ids per seed, rate limits on the virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
import pytest

from mock_server.settings import Settings, resolve
from mock_server.testing import InProcessMock
from tests.conftest import CREDENTIAL, DEMO, QUERY

DOCS_TASK = "56eac11a862143989e9cc63f8b213a2d"


def credential(http: object) -> dict:
    return http.get(CREDENTIAL, params={"format": "png"}, headers=DEMO).json()["result"]


@pytest.fixture
def started() -> Iterator[list[InProcessMock]]:
    mocks: list[InProcessMock] = []
    yield mocks
    for mock in mocks:
        mock.close()


def start(started: list[InProcessMock], seed: int | None) -> InProcessMock:
    mock = InProcessMock(Settings(clock="virtual", seed=seed))
    started.append(mock)
    return mock


def file_ids(mock: InProcessMock, n: int = 3) -> list[str]:
    with mock.client() as http:
        return [credential(http)["fileId"] for _ in range(n)]


# --- 6. ids per seed ---------------------------------------------------------------------

def test_unseeded_starts_and_resets_give_fresh_ids(started: list[InProcessMock]) -> None:
    one, two = start(started, None), start(started, None)
    first = file_ids(one)
    assert len(set(first)) == 3
    assert set(first).isdisjoint(file_ids(two))
    one.reset()
    assert set(first).isdisjoint(file_ids(one))


def test_a_seed_repeats_the_sequence_at_every_start_and_reset(
        started: list[InProcessMock]) -> None:
    one, two, other = start(started, 5), start(started, 5), start(started, 6)
    first = file_ids(one)
    assert file_ids(two) == first
    one.reset()
    assert file_ids(one) == first
    assert set(file_ids(other)).isdisjoint(first)


@pytest.mark.parametrize("seed", [None, 5])
def test_a_url_handed_out_keeps_verifying_across_a_reset(
        started: list[InProcessMock], seed: int | None) -> None:
    mock = start(started, seed)
    with mock.client() as http:
        result = http.get(QUERY, params={"taskId": DOCS_TASK}, headers=DEMO).json()["result"]
        mock.reset()
        download = http.get(result["bgRemovedImagePath"])
    assert download.status_code == 200 and download.content.startswith(b"\x89PNG")
    assert result["bgRemovedImageFileId"] == "e5ea811a6fb646ba9e0354232e8b97a4"  # docs' id


def test_seed_setting_from_env_config_and_default() -> None:
    assert resolve({}, environ={}).seed is None
    assert resolve({}, environ={"BGMOCK_SEED": "7"}).seed == 7
    assert resolve({}, environ={"BGMOCK_SEED": ""}).seed is None
    assert resolve({"seed": 3}, environ={"BGMOCK_SEED": "7"}).seed == 3
    with pytest.raises(ValueError):
        resolve({}, environ={"BGMOCK_SEED": "x"})
