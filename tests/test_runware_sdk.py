"""Runware's official Python SDK (``runware`` 0.5.x), unchanged, against the mock over a real
socket (issue 11 part 5): connect, a local file uploaded and its background removed (URL,
base64Data and dataURI outputs, checked on the decoded bytes), an invalid key, a task that
fails, a server-side failure, a dropped socket recovered through ``conflictTaskUUID`` and
``getResponse``, and ``webhookURL``.

The SDK reads its timers from the environment when it is imported: it is imported through
``tests.runware_sdk_flow``, which cuts the polling delay so the reconnect path needs no
second-long waits. Nothing waits for a task's duration.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bgmock.server.settings import Settings
from bgmock.server.testing import MockServer, running_server

from tests.runware_sdk_flow import (
    Runware,
    RunwareAPIError,
    product_photo,
    removal,
    remove,
    run,
    transparent_png,
)
from tests.webhook_receiver import Receiver


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with running_server(Settings(clock="virtual", seed=11)) as server:
        yield server


@pytest.fixture()
def server(mock: MockServer) -> MockServer:
    mock.reset()
    mock.clear_faults()
    return mock


def ws_url(server: MockServer) -> str:
    return server.base_url.replace("http://", "ws://") + "/runware/v1"


@pytest.fixture()
def product(tmp_path: Path) -> Path:
    return product_photo(tmp_path / "product.jpg")


def test_upload_and_removal_with_an_image_url(server: MockServer, product: Path) -> None:
    [image] = remove(ws_url(server), product, outputType="URL", includeCost=True)
    assert image.imageUUID and image.taskUUID and image.cost == pytest.approx(0.0006)
    assert image.imageURL.startswith(server.base_url)
    transparent_png(server.http.get(image.imageURL).raise_for_status().content)
    operations = [e["operation"] for e in server.journal("runware")]
    assert operations[0] == "authentication" and "image_upload" in operations
    assert operations.count("image_background_removal") == 1


def test_base64_and_data_uri_outputs_carry_the_image(server: MockServer, product: Path) -> None:
    async def work(rw: Runware) -> Any:
        as_base64 = await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(
            product, outputType="base64Data"))
        as_uri = await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(
            product, outputType="dataURI"))
        return as_base64[0], as_uri[0]

    as_base64, as_uri = run(ws_url(server), work)
    transparent_png(base64.b64decode(as_base64.imageBase64Data))
    head, _, payload = as_uri.imageDataURI.partition(",")
    assert head == "data:image/png;base64"
    transparent_png(base64.b64decode(payload))


def test_concurrent_calls_share_one_socket(server: MockServer, product: Path) -> None:
    async def work(rw: Runware) -> Any:
        calls = [rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(
            product, outputType="base64Data")) for _ in range(4)]
        return await asyncio.gather(*calls)

    results = run(ws_url(server), work)
    assert len({images[0].imageUUID for images in results}) == 4
    for images in results:
        transparent_png(base64.b64decode(images[0].imageBase64Data))
    assert [e["operation"] for e in server.journal("runware")].count("authentication") == 1


def test_an_invalid_key_connects_and_the_next_call_raises(server: MockServer,
                                                          product: Path) -> None:
    async def work(rw: Runware) -> Any:
        return await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(product))

    with pytest.raises(ConnectionError, match="Invalid API key"):
        run(ws_url(server), work, key="not-a-key")
    entries = server.journal("runware")
    assert {(e["operation"], e["code"]) for e in entries if e["operation"] != "ping"} == \
        {("authentication", "invalidApiKey")}  # nothing past authentication ran


def test_a_failing_task_raises_runware_api_error(server: MockServer, product: Path) -> None:
    server.fault("runware", "fail", operation="image_background_removal", count=1)

    async def work(rw: Runware) -> Any:
        try:
            await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(product))
        except RunwareAPIError as exc:
            failed = exc
        else:  # pragma: no cover - the assertion below says it
            failed = None
        again = await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(product))
        return failed, again

    failed, again = run(ws_url(server), work)
    assert failed is not None and failed.error_data["taskType"] == "imageBackgroundRemoval"
    assert failed.error_data["taskUUID"] and failed.code == "timeoutProvider"  # D194
    assert again[0].imageUUID  # the socket stayed usable


def test_an_unknown_input_image_raises_runware_api_error(server: MockServer) -> None:
    async def work(rw: Runware) -> Any:
        await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(
            "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"))

    with pytest.raises(RunwareAPIError) as caught:
        run(ws_url(server), work)
    assert caught.value.code == "invalidInputImage"
    assert caught.value.error_data["parameter"] == "inputImage"


def test_a_server_side_failure_raises_runware_api_error(server: MockServer,
                                                        product: Path) -> None:
    # the service is overloaded for this key's removals: 503 serviceUnavailable (D197)
    server.fault("runware", "error=503", operation="image_background_removal",
                 key="runware-demo-key", count=1)

    async def work(rw: Runware) -> Any:
        await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(product))

    with pytest.raises(RunwareAPIError) as caught:
        run(ws_url(server), work)
    assert caught.value.code == "serviceUnavailable"
    assert caught.value.error_data["taskType"] == "imageBackgroundRemoval"


def test_a_dropped_socket_is_recovered_through_conflict_and_get_response(
        server: MockServer, product: Path) -> None:
    server.fault("runware", "drop", operation="image_background_removal", count=1)

    async def work(rw: Runware) -> Any:
        return await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(
            product, outputType="URL"))

    [image] = run(ws_url(server), work)
    assert image.imageUUID and image.imageURL
    transparent_png(server.http.get(image.imageURL).raise_for_status().content)
    entries = server.journal("runware")
    removals = [e for e in entries if e["operation"] == "image_background_removal"]
    assert [e["code"] for e in removals] == ["ok", "conflictTaskUUID"]
    assert any(e["operation"] == "get_response" and e["code"] == "ok" for e in entries)
    assert [e["operation"] for e in entries].count("authentication") == 2  # reconnected


def test_a_webhook_url_is_acknowledged_and_the_result_posted(server: MockServer,
                                                             product: Path) -> None:
    with Receiver() as receiver:
        async def work(rw: Runware) -> Any:
            return await rw.imageBackgroundRemoval(removeImageBackgroundPayload=removal(
                product, outputType="URL", webhookURL=receiver.url))

        ack = run(ws_url(server), work)
        server.advance(600)
        hits = receiver.wait(1, timeout=10)
    assert ack.taskType == "imageBackgroundRemoval" and ack.taskUUID
    assert len(hits) >= 1
    body = hits[0].body
    assert body["taskUUID"] == ack.taskUUID and body["imageUUID"]
    transparent_png(server.http.get(body["imageURL"]).raise_for_status().content)
