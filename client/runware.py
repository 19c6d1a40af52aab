"""Thin reference client for Runware's REST API: image upload, background removal, polling.

::

    with RunwareClient() as runware:           # $RUNWARE_API_KEY
        image_uuid = runware.upload("shoe.jpg")
        result = runware.remove_background(image_uuid, output_format="PNG", include_cost=True)
        png = runware.download(result.image_url)
        # async delivery: an acknowledgement now, the result by polling getResponse
        accepted = runware.remove_background(image_uuid, delivery="async")
        result = runware.wait(accepted.task_uuid)

:class:`AsyncRunwareClient` has the same methods as coroutines. REST only: for the WebSocket
transport use Runware's official SDK (``pip install runware``), which the mock serves too.

Requests. Each call is one ``POST <base_url>`` with a JSON array holding one task, the API key
in an ``Authorization: Bearer`` header (never sent to :meth:`~RunwareClient.download`), and a
fresh UUID v4 as ``taskUUID`` unless ``task_uuid=`` is given. ``remove_background`` sends the
current ``removeBackground`` task (``model`` + nested ``settings``); ``legacy=True`` sends
``imageBackgroundRemoval`` with the settings at the top level, as SDK 0.5.x does. Images
(``upload``'s ``image``, ``remove_background``'s ``input_image``) may be bytes or a path (sent
as a data URI), or a string: a URL, a data URI, an image UUID or raw base64 pass through as
they are, any other string is read as a file path.

Answers. Every answer is ``{"data": [...], "errors": [...]}``; the item whose ``taskUUID`` is
the task's is the call's result. Answers are checked against bgmock's contracts
(:func:`contracts.check_response`, D210): an answer that breaks them raises
:class:`RunwareError` with code ``unexpectedAnswer`` (``strict=False`` only tells the answers
apart and reads what it needs). A result comes back as a :class:`TaskResult`; an async
acknowledgement is a :class:`TaskResult` with status ``processing`` and no image.

Errors. An ``errors`` item raises :class:`RunwareError` with Runware's ``code``, ``message``,
``parameter``, ``task_uuid``, ``task_type`` and the HTTP ``status``. An answer that is not
Runware's (a proxy page, a non-JSON 5xx), or a non-2xx answer with no error for the call,
raises :class:`RunwareError` with ``code`` the HTTP status as a string (D211).
:meth:`~RunwareClient.wait` polls ``getResponse`` with capped backoff until ``success``; a task
that failed raises :class:`RunwareError` (``status`` ``"error"`` in its item), running out of
time :class:`RunwareTimeout`. A refused download raises :class:`RunwareError` with the HTTP
status as code. Transport failures are httpx's own exceptions, unchanged.
"""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from bgmock.client._common import (
    AsyncHTTP,
    Backoff,
    Blocking,
    Flow,
    PollTimeout,
    ProviderError,
    SyncHTTP,
    credential,
    gist,
    polling,
)

from bgmock import contracts

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "AsyncRunwareClient",
    "RunwareClient",
    "RunwareError",
    "RunwareTimeout",
    "TaskResult",
    "data_uri",
    "image_value",
]

DEFAULT_BASE_URL = "https://api.runware.ai/v1"
DEFAULT_MODEL = "runware:109@1"
API_KEY_ENV = "RUNWARE_API_KEY"
PROVIDER = "runware"
DELIVERIES = ("sync", "async")
UNEXPECTED = "unexpectedAnswer"  # the client's own code for an answer that breaks the contracts

Delivery = Literal["sync", "async"]
Image = str | os.PathLike[str] | bytes | bytearray | memoryview
Item = dict[str, Any]

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MIME_BY_SUFFIX = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                   ".webp": "image/webp", ".bmp": "image/bmp", ".gif": "image/gif"}
_RESULT_FIELDS = ("imageUUID", "inputImageUUID", "imageURL", "imageBase64Data", "imageDataURI")


class RunwareError(ProviderError):
    """An ``errors`` item (Runware's ``code``, ``message``, ``parameter``, ``taskUUID``,
    ``taskType``; the whole item in ``item``), or an answer that is not Runware's
    (``code`` = the HTTP status as a string)."""

    provider = PROVIDER

    def __init__(self, code: str, message: str, parameter: str | None = None,
                 task_uuid: str | None = None, *, task_type: str | None = None,
                 status: int | None = None, item: Item | None = None) -> None:
        super().__init__(code, message, status=status)
        self.parameter = parameter
        self.task_uuid = task_uuid
        self.task_type = task_type
        self.item = item or {}

    @classmethod
    def of(cls, item: Item, status: int | None) -> RunwareError:
        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else str(value)

        return cls(text("code") or "unknownError", text("message") or "", text("parameter"),
                   text("taskUUID"), task_type=text("taskType"), status=status, item=item)


class RunwareTimeout(PollTimeout):
    """:meth:`RunwareClient.wait` ran out of time; ``last`` is the last :class:`TaskResult`."""

    def __init__(self, task_uuid: str, last: TaskResult, elapsed: float) -> None:
        self.task_uuid = task_uuid
        super().__init__(f"Runware task {task_uuid} still {last.status!r} after {elapsed:g}s",
                         last=last, elapsed=elapsed)


@dataclass(frozen=True)
class TaskResult:
    """One ``data`` item: a task's result, or its acknowledgement (``status`` ``processing``,
    no image). ``status`` is the item's own, else ``success`` for a result and ``processing``
    for an acknowledgement. ``cost`` only with ``include_cost``; ``raw`` is the whole item."""

    task_type: str
    task_uuid: str
    status: str
    image_uuid: str | None = None
    input_image_uuid: str | None = None
    image_url: str | None = None
    image_base64_data: str | None = None
    image_data_uri: str | None = None
    cost: float | None = None
    raw: Item = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status == "success"

    def image_bytes(self) -> bytes | None:
        """The image carried inline (``base64Data`` or ``dataURI`` output), decoded."""
        if self.image_base64_data:
            return base64.b64decode(self.image_base64_data)
        if self.image_data_uri:
            return base64.b64decode(self.image_data_uri.partition(",")[2])
        return None

    @classmethod
    def of(cls, item: Item) -> TaskResult:
        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else str(value)

        done = any(item.get(name) for name in _RESULT_FIELDS)
        status = text("status") or ("success" if done else "processing")
        return cls(str(item.get("taskType") or ""), str(item.get("taskUUID") or ""), status,
                   text("imageUUID"), text("inputImageUUID"), text("imageURL"),
                   text("imageBase64Data"), text("imageDataURI"), _cost(item.get("cost")),
                   item)


def _cost(value: Any) -> float | None:
    """The item's ``cost`` in USD (the SDK takes a string too); ``None`` if absent or not a
    number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        cost = float(value)
    except (TypeError, ValueError):
        return None
    return cost if cost == cost and abs(cost) != float("inf") else None


def _dicts(value: Any) -> list[Item]:
    """The objects in a list field (``data``, ``errors``); nothing if it is not a list."""
    return [each for each in value if isinstance(each, dict)] if isinstance(value, list) else []


# --- images -------------------------------------------------------------------------------


def _mime(data: bytes, suffix: str = "") -> str:
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"BM"):
        return "image/bmp"
    return _MIME_BY_SUFFIX.get(suffix.lower(), "application/octet-stream")


def data_uri(data: bytes, suffix: str = "") -> str:
    """``data:<mime>;base64,<...>``; the MIME type from the bytes, else the file suffix."""
    return f"data:{_mime(data, suffix)};base64,{base64.b64encode(data).decode('ascii')}"


def _passes_through(text: str) -> bool:
    """A string Runware reads as it is: a URL, a data URI, an image UUID or raw base64."""
    return (text[:8].lower().startswith(("http://", "https://", "data:"))
            or bool(_UUID.fullmatch(text))
            or (bool(_BASE64.fullmatch(text)) and not os.path.isfile(text)))


def image_value(image: Image) -> str:
    """What a task's ``image`` / ``inputImage`` carries for ``image`` (reads files: blocking).
    ``FileNotFoundError`` for a string that is none of Runware's forms and no file."""
    if isinstance(image, bytes | bytearray | memoryview):
        return data_uri(bytes(image))
    if isinstance(image, str) and _passes_through(image):
        return image
    path = Path(image)
    return data_uri(path.read_bytes(), path.suffix)


# --- tasks and answers ----------------------------------------------------------------------


def _new_uuid() -> str:
    return str(uuid.uuid4())


def _removal_task(input_image: str, task_uuid: str, model: str | None,
                  settings: Mapping[str, Any] | None, output_type: str | None,
                  output_format: str | None, output_quality: int | None, delivery: str,
                  include_cost: bool | None, webhook_url: str | None, legacy: bool,
                  extra: Mapping[str, Any] | None) -> Item:
    """The task object: only what was given (the provider's defaults fill the rest)."""
    task: Item = {"taskType": "imageBackgroundRemoval" if legacy else "removeBackground",
                  "taskUUID": task_uuid, "inputImage": input_image}
    optional = {"model": model, "outputType": output_type, "outputFormat": output_format,
                "outputQuality": output_quality, "includeCost": include_cost,
                "webhookURL": webhook_url,
                "deliveryMethod": delivery if delivery != "sync" else None}
    task.update({name: value for name, value in optional.items() if value is not None})
    if settings is not None:
        if legacy:  # SDK 0.5.x flattens the settings into the task
            task.update(settings)
        else:
            task["settings"] = dict(settings)
    task.update(extra or {})
    return task


def _operation(task_type: str) -> str | None:
    """The contract operation of a task type, ``None`` if the contracts do not know it."""
    for name, op in contracts.operations(PROVIDER)["operations"].items():
        if op.get("select", {}).get("value") == task_type:
            return name
    return None


def _body(response: httpx.Response, operation: str | None, strict: bool) -> Any:
    """The answer's JSON if it is one of Runware's answers; :class:`RunwareError` otherwise."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    try:
        schema = contracts.response_schema(PROVIDER, operation, body)
        if schema is not None and strict:
            contracts.check_response(PROVIDER, operation, body)
    except contracts.ContractViolation as exc:
        raise RunwareError(UNEXPECTED, f"answer breaks the contract: {exc}",
                           status=status) from None
    if schema is None:
        what = gist(response) if not response.is_success else f"not a Runware answer: " \
            f"{gist(response)}"
        raise RunwareError(str(status), what, status=status)
    return body


def _item(response: httpx.Response, task: Item, strict: bool) -> Item:
    """The ``data`` item answering ``task``; its error (or the answer's first) raises."""
    status, task_uuid = response.status_code, task["taskUUID"]
    body = _body(response, _operation(task["taskType"]), strict)
    errors, data = _dicts(body.get("errors")), _dicts(body.get("data"))
    for error in errors:
        if error.get("taskUUID") in (task_uuid, None):
            raise RunwareError.of(error, status)
    if not response.is_success:  # R9: a task that succeeded makes the answer a 200
        if errors:
            raise RunwareError.of(errors[0], status)
        raise RunwareError(str(status), gist(response), task_uuid=task_uuid, status=status)
    for item in data:
        if item.get("taskUUID") == task_uuid:
            return item
    if errors:
        raise RunwareError.of(errors[0], status)
    raise RunwareError(UNEXPECTED, f"no item for task {task_uuid}: {gist(response)}",
                       task_uuid=task_uuid, status=status)


def _check_download(response: httpx.Response) -> bytes:
    if response.is_success:
        return response.content
    raise RunwareError(str(response.status_code), gist(response), status=response.status_code)


def _done(result: TaskResult) -> bool:
    return result.finished


# --- clients ------------------------------------------------------------------------------


class _Base:
    """Everything but the I/O: each call is a flow (see :mod:`client._common`)."""

    http: httpx.Client | httpx.AsyncClient
    _open_http: Callable[[float, Any, Any], None]  # from SyncHTTP or AsyncHTTP

    def __init__(self, api_key: str | None, base_url: str, strict: bool, timeout: float,
                 transport: Any, http_client: Any) -> None:
        self.api_key = credential(api_key, API_KEY_ENV, what="Runware API key")
        self.base_url = base_url.rstrip("/")
        self.strict = strict
        # Per request, never on the httpx client: result URLs must not get the key.
        self._auth = {"Authorization": f"Bearer {self.api_key}"}
        self._open_http(timeout, transport, http_client)  # SyncHTTP's or AsyncHTTP's

    def _task(self, task: Item) -> Flow[Item]:
        request = self.http.build_request("POST", self.base_url, json=[task], headers=self._auth)
        return _item((yield request), task, self.strict)

    def _upload(self, image: Image, task_uuid: str | None) -> Flow[str]:
        value = yield Blocking(image_value, (image,))
        task = {"taskType": "imageUpload", "taskUUID": task_uuid or _new_uuid(), "image": value}
        item = yield from self._task(task)
        if not item.get("imageUUID"):
            raise RunwareError(UNEXPECTED, f"upload answered without imageUUID: {item}",
                               task_uuid=task["taskUUID"], task_type="imageUpload")
        return str(item["imageUUID"])

    def _remove_background(self, input_image: Image, options: dict[str, Any]) -> Flow[TaskResult]:
        value = yield Blocking(image_value, (input_image,))
        task = _removal_task(value, options.pop("task_uuid") or _new_uuid(), **options)
        return TaskResult.of((yield from self._task(task)))

    def _get_response(self, task_uuid: str) -> Flow[TaskResult]:
        item = yield from self._task({"taskType": "getResponse", "taskUUID": task_uuid})
        return TaskResult.of(item)

    def _wait(self, task_uuid: str, timeout: float | None, interval: float,
              max_interval: float, backoff: float) -> Flow[TaskResult]:
        try:
            return (yield from polling(lambda: self._get_response(task_uuid), _done,
                                       timeout=timeout,
                                       backoff=Backoff(interval, max_interval, backoff)))
        except PollTimeout as exc:
            raise RunwareTimeout(task_uuid, exc.last, exc.elapsed) from None

    def _download(self, url: str) -> Flow[bytes]:
        return _check_download((yield self.http.build_request("GET", url)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


def _removal_options(model: str | None, settings: Mapping[str, Any] | None,
                     output_type: str | None, output_format: str | None,
                     output_quality: int | None, delivery: str, include_cost: bool | None,
                     webhook_url: str | None, legacy: bool, task_uuid: str | None,
                     extra: Mapping[str, Any] | None) -> dict[str, Any]:
    if delivery not in DELIVERIES:  # fails before a file is read or anything is sent
        raise ValueError(f"delivery must be 'sync' or 'async', not {delivery!r}")
    return {"model": model, "settings": settings, "output_type": output_type,
            "output_format": output_format, "output_quality": output_quality,
            "delivery": delivery, "include_cost": include_cost, "webhook_url": webhook_url,
            "legacy": legacy, "task_uuid": task_uuid, "extra": extra}


class RunwareClient(_Base, SyncHTTP):
    """Runware's REST API over a sync ``httpx.Client``.

    ``transport`` goes into the client this object makes; ``http_client`` is used as given (and
    not closed by :meth:`close`). The API key defaults to ``$RUNWARE_API_KEY``.
    """

    http: httpx.Client

    def __init__(self, api_key: str | None = None, base_url: str = DEFAULT_BASE_URL, *,
                 strict: bool = True, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None,
                 http_client: httpx.Client | None = None) -> None:
        super().__init__(api_key, base_url, strict, timeout, transport, http_client)

    def upload(self, image: Image, *, task_uuid: str | None = None) -> str:
        """Store an image (``imageUpload``); returns its ``imageUUID``."""
        return self._run(self._upload(image, task_uuid))

    def remove_background(
        self, input_image: Image, *, model: str | None = None,
        settings: Mapping[str, Any] | None = None, output_type: str | None = None,
        output_format: str | None = None, output_quality: int | None = None,
        delivery: Delivery = "sync", include_cost: bool | None = None,
        webhook_url: str | None = None, legacy: bool = False, task_uuid: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> TaskResult:
        """Remove the background; the result (``delivery="sync"``) or the acknowledgement
        (``"async"``: poll with :meth:`wait`). ``extra``: more task fields, sent as given."""
        return self._run(self._remove_background(input_image, _removal_options(
            model, settings, output_type, output_format, output_quality, delivery,
            include_cost, webhook_url, legacy, task_uuid, extra)))

    def get_response(self, task_uuid: str) -> TaskResult:
        """The task's state now (``getResponse``): ``processing`` or ``success``; a failed task
        raises :class:`RunwareError`."""
        return self._run(self._get_response(task_uuid))

    def wait(self, task_uuid: str, timeout: float | None = 300.0, interval: float = 1.0,
             max_interval: float = 10.0, backoff: float = 1.5, *,
             sleep: Callable[[float], object] | None = None) -> TaskResult:
        """Poll ``getResponse`` until ``success`` (returns it); see the module doc."""
        return self._run(self._wait(task_uuid, timeout, interval, max_interval, backoff), sleep)

    def download(self, url: str) -> bytes:
        """GET a result URL (no API key sent)."""
        return self._run(self._download(url))


class AsyncRunwareClient(_Base, AsyncHTTP):
    """:class:`RunwareClient` over ``httpx.AsyncClient``; every call is a coroutine."""

    http: httpx.AsyncClient

    def __init__(self, api_key: str | None = None, base_url: str = DEFAULT_BASE_URL, *,
                 strict: bool = True, timeout: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 http_client: httpx.AsyncClient | None = None) -> None:
        super().__init__(api_key, base_url, strict, timeout, transport, http_client)

    async def upload(self, image: Image, *, task_uuid: str | None = None) -> str:
        return await self._run(self._upload(image, task_uuid))

    async def remove_background(
        self, input_image: Image, *, model: str | None = None,
        settings: Mapping[str, Any] | None = None, output_type: str | None = None,
        output_format: str | None = None, output_quality: int | None = None,
        delivery: Delivery = "sync", include_cost: bool | None = None,
        webhook_url: str | None = None, legacy: bool = False, task_uuid: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> TaskResult:
        return await self._run(self._remove_background(input_image, _removal_options(
            model, settings, output_type, output_format, output_quality, delivery,
            include_cost, webhook_url, legacy, task_uuid, extra)))

    async def get_response(self, task_uuid: str) -> TaskResult:
        return await self._run(self._get_response(task_uuid))

    async def wait(self, task_uuid: str, timeout: float | None = 300.0, interval: float = 1.0,
                   max_interval: float = 10.0, backoff: float = 1.5, *,
                   sleep: Callable[[float], Awaitable[object]] | None = None) -> TaskResult:
        return await self._run(self._wait(task_uuid, timeout, interval, max_interval, backoff),
                               sleep)

    async def download(self, url: str) -> bytes:
        return await self._run(self._download(url))
