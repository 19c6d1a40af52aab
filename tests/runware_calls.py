"""Runware for the harness: the demo key as a bearer header, task arrays over REST, the same
tasks over a WebSocket (in-process through Starlette's test client, or over the wire), and
every answer checked item by item against the contracts."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
from bgmock.server.core import imaging
from bgmock.server.providers.runware.fixtures import DEMO_KEY, DOCS_IMAGE
from starlette.testclient import TestClient

from bgmock import contracts
from tests.harness import Target

PROVIDER = "runware"
OPERATIONS = {op["select"]["value"]: name
              for name, op in contracts.operations(PROVIDER)["operations"].items()}

__all__ = ["DEMO_KEY", "DOCS_IMAGE", "RunwareApi", "check", "data_uri", "new_uuid", "photo",
           ]


def new_uuid() -> str:
    return str(uuid.uuid4())


def photo(seed: str = "product", width: int = 320, height: int = 240, fmt: str = "png") -> bytes:
    """A synthetic product photo: a subject on a plain background."""
    return imaging.encode(imaging.synthetic_product(seed, width, height), fmt)


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def check(body: Any) -> dict[str, Any]:
    """Every item of an answer against its contract: data items by the task type they answer
    (``getResponse`` items too, whose taskType is the original task's), errors as errors."""
    assert isinstance(body, dict) and set(body) <= {"data", "errors"} and body, body
    for item in body.get("data", []):
        operation = OPERATIONS[item["taskType"]]
        if "status" in item:
            operation = "get_response"
        contracts.validate(PROVIDER, f"{operation}.response", {"data": [item]})
    if "errors" in body:
        contracts.validate(PROVIDER, "error.response", {"errors": body["errors"]})
    if "data" in body and len(body) == 1:
        kinds = {OPERATIONS[i["taskType"]] for i in body["data"]}
        if len(kinds) == 1:  # one task type: the whole answer is that operation's
            contracts.check_response(PROVIDER, kinds.pop(), body)
    return body


class Socket:
    """One WebSocket connection: ``send(*tasks)`` a JSON array, ``receive()`` one frame."""

    def __init__(self, send: Any, receive: Any) -> None:
        self._send, self._receive = send, receive

    def send(self, *tasks: Any) -> None:
        self._send(json.dumps(list(tasks)))

    def send_text(self, text: str) -> None:
        self._send(text)

    def receive(self) -> dict[str, Any]:
        return check(json.loads(self._receive()))

    def run(self, *tasks: Any) -> dict[str, Any]:
        self.send(*tasks)
        return self.receive()

    def authenticate(self, key: str = DEMO_KEY) -> str:
        body = self.run({"taskType": "authentication", "apiKey": key})
        return body["data"][0]["connectionSessionUUID"]  # type: ignore[no-any-return]


class RunwareApi(Target):
    provider: ClassVar[str] = PROVIDER
    key: str = DEMO_KEY

    def credentials(self) -> dict[str, Any]:
        return {"headers": {"Authorization": f"Bearer {self.key}"}}

    def tasks(self, *tasks: Any, fault: str | None = None, **kw: Any) -> httpx.Response:
        """POST the tasks as one JSON array (``fault``: an ``X-Mock-Fault`` beside the key;
        ``headers`` replace the key's)."""
        if fault is not None:
            kw["headers"] = {**kw.get("headers", self.credentials()["headers"]),
                             "X-Mock-Fault": fault}
        return self.post("/runware/v1", json=list(tasks), **kw)

    def run(self, *tasks: Any, status: int = 200, fault: str | None = None,
            **kw: Any) -> dict[str, Any]:
        """POST the tasks; the checked body (asserting the HTTP status)."""
        response = self.tasks(*tasks, fault=fault, **kw)
        assert response.status_code == status, response.text
        return check(response.json())

    def upload(self, data: bytes | None = None) -> str:
        body = self.run({"taskType": "imageUpload", "taskUUID": new_uuid(),
                         "image": data_uri(data or photo())})
        return body["data"][0]["imageUUID"]  # type: ignore[no-any-return]

    def download(self, url: str) -> httpx.Response:
        """GET a URL the mock handed out, through this target's client."""
        parts = httpx.URL(url)
        return self.http.get(parts.raw_path.decode())

    @contextlib.contextmanager
    def socket(self, path: str = "/runware/v1", **headers: str) -> Iterator[Socket]:
        """A WebSocket to the mock: in-process (its own test client: keep a socket test on
        the socket) or over the wire."""
        if self.mode == "inprocess":
            with TestClient(self.controls.app) as client, \
                    client.websocket_connect(path, headers=headers) as ws:
                yield Socket(ws.send_text, ws.receive_text)
            return
        from websockets.sync.client import connect

        url = self.controls.base_url.replace("http://", "ws://") + path
        with connect(url, additional_headers=headers, max_size=None) as ws:
            yield Socket(ws.send, lambda: ws.recv(timeout=30))

