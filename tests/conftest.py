"""Shared fixtures: the same behaviour checks run in-process and over a real socket.

Each provider's target (``tests/<provider>_calls.py``) becomes a fixture here, run once per
mode (:mod:`tests.harness`): ``api`` for Topview (the demo account), ``aidge_api`` for Aidge.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from bgmock.server.testing import InProcessMock

from tests.aidge_calls import AidgeApi
from tests.harness import target_fixture
from tests.topview_calls import (
    CHECK,
    CREDENTIAL,
    CREDIT,
    DEMO,
    DEMO_KEY,
    DEMO_UID,
    QUERY,
    SUBMIT,
    TV,
    Api,
    TopviewApi,
    topview_body,
)

# Kept importable from here for tests written against the earlier conftest.
__all__ = ["CHECK", "CREDENTIAL", "CREDIT", "DEMO", "DEMO_KEY", "DEMO_UID", "QUERY", "SUBMIT",
           "TV", "Api", "topview_body"]

api = target_fixture(TopviewApi, "api")
aidge_api = target_fixture(AidgeApi, "aidge_api")

# Runware (tests/runware_calls.py): the demo key as a bearer header.
from tests.runware_calls import RunwareApi  # noqa: E402

runware = target_fixture(RunwareApi, "runware")


@pytest.fixture
def mock() -> Iterator[InProcessMock]:
    """In-process only, for checks that need no socket."""
    m = InProcessMock()
    try:
        yield m
    finally:
        m.close()


@pytest.fixture
def http(mock: InProcessMock) -> Iterator[httpx.Client]:
    with mock.client() as client:
        yield client
