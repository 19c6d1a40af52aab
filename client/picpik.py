"""Thin reference client for PICPIK's background removal (the signed ``Action`` API).

::

    with PicpikClient() as picpik:           # $PICPIK_PUBLIC_KEY / $PICPIK_PRIVATE_KEY
        uid = picpik.remove_background(open("shoe.jpg", "rb").read(), box=(180, 264, 510, 642))
        task = picpik.wait(uid)               # a TaskDetail, Status "Finished"
        png = picpik.download(task.img_list[0])
        uids = picpik.remove_backgrounds([photo_a, photo_b], only_mask=True)
        details = picpik.tasks(uids)          # ListTasksDetails, one TaskDetail per uid

:class:`AsyncPicpikClient` has the same methods as coroutines. Besides httpx and the standard
library it reads only bgmock's contract data (:func:`contracts.check_response`); the request
signing lives here (:func:`sign`, PICPIK's ``sign_platform``).

Requests. Every call is a JSON ``POST`` to the base URL naming its ``Action``, with
``PublicKey``, a fresh ``request_uuid`` and ``Signature`` (signed last, over everything else).
Knobs left at ``None`` are not sent, so PICPIK's defaults apply (``ErodeSize`` 15, thresholds
240 / 15, ``HairOptimization`` auto). ``image`` may be bytes (sent as a ``data:`` URI, its type
sniffed) or a str sent as it is (a data URI or bare base64).

Errors. Every PICPIK answer is HTTP 200 JSON; a non-zero ``RetCode`` raises
:class:`PicpikError` (``ret_code``, ``message``, ``action``, ``request_uuid``). Anything that is
not a PICPIK answer (not JSON, another shape, a non-2xx status without one) raises
:class:`PicpikError` with the HTTP status as ``ret_code``. A failed :meth:`~PicpikClient.download`
raises :class:`PicpikError` with the HTTP status and the storage's XML ``<Code>`` as ``code``.
Transport failures are httpx's own exceptions, unchanged. :meth:`~PicpikClient.wait` raises
:class:`PicpikTaskFailed` (``ret_code`` the task's ``ErrorCode``) for a task that ended
``Error`` and :class:`PicpikTimeout` (a :class:`TimeoutError`) when time runs out; ``sleep=``
is injectable and the budget counts at least the time slept.
"""

from __future__ import annotations

import base64
import hashlib
import math
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from bgmock.client._common import (
    AsyncHTTP,
    Backoff,
    Flow,
    PollTimeout,
    ProviderError,
    SyncHTTP,
    credential,
    gist,
    polling,
    storage_error,
)

from bgmock import contracts

__all__ = [
    "DEFAULT_BASE_URL",
    "OPERATIONS",
    "AsyncPicpikClient",
    "PicpikClient",
    "PicpikError",
    "PicpikTaskFailed",
    "PicpikTimeout",
    "TaskDetail",
    "data_uri",
    "sign",
    "string_to_sign",
]

DEFAULT_BASE_URL = "https://api.picpik.ai"
PUBLIC_KEY_ENV, PRIVATE_KEY_ENV = "PICPIK_PUBLIC_KEY", "PICPIK_PRIVATE_KEY"
UNSIGNED = frozenset({"Signature", "signature"})
TERMINAL = frozenset({"Finished", "Error"})
IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
)

Body = dict[str, Any]
Image = bytes | bytearray | memoryview | str
# The contract's operation of each Action: its ``select`` on the body field (D181).
OPERATIONS = {op["select"]["value"]: name
              for name, op in contracts.operations("picpik")["operations"].items()}


class PicpikError(ProviderError):
    """A non-zero ``RetCode`` (``code`` is its string), or an answer that is not PICPIK's
    (``ret_code`` = the HTTP status)."""

    provider = "picpik"

    def __init__(self, ret_code: int, message: str, *, action: str | None = None,
                 request_uuid: str | None = None, status: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(code or str(ret_code), message, status=status)
        self.ret_code = ret_code
        self.action = action
        self.request_uuid = request_uuid


@dataclass(frozen=True)
class TaskDetail:
    """One ``TaskDetail`` of ``ListTasksDetails`` (``ErrorMassage`` is PICPIK's spelling)."""

    task_uid: str
    action: str
    status: str                      # Queuing | Running | Finished | Error
    img_list: tuple[str, ...] = ()
    consume_api_point: int = 0
    error_code: int = 0
    error_message: str = ""
    seed: int | None = None
    txt_list: tuple[str, ...] = ()
    raw: Body = field(default_factory=dict, compare=False, repr=False)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> TaskDetail:
        return cls(task_uid=str(item["TaskUID"]), action=str(item["Action"]),
                   status=str(item["Status"]), img_list=tuple(item.get("ImgList") or ()),
                   consume_api_point=int(item.get("ConsumeApiPoint") or 0),
                   error_code=int(item.get("ErrorCode") or 0),
                   error_message=str(item.get("ErrorMassage") or ""),
                   seed=item.get("Seed"), txt_list=tuple(item.get("TxtList") or ()),
                   raw=dict(item))


class PicpikTaskFailed(PicpikError):
    """The task ended ``Error``; ``task`` is its detail (``ErrorMassage`` says why)."""

    def __init__(self, task: TaskDetail) -> None:
        super().__init__(task.error_code, task.error_message or "task failed",
                         action=task.action)
        self.task = task
        self.task_uid = task.task_uid


class PicpikTimeout(PollTimeout):
    """:meth:`PicpikClient.wait` ran out of time; ``status`` is the task's last status."""

    def __init__(self, task_uid: str, last: TaskDetail, elapsed: float) -> None:
        self.task_uid = task_uid
        self.status = last.status
        super().__init__(f"PICPIK task {task_uid} still {last.status!r} after {elapsed:g}s",
                         last=last, elapsed=elapsed)


# --- signing (K3: PICPIK's sign_platform) ---------------------------------------------------


def _text(value: Any) -> str:
    """A value as it enters the signed string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        if value == int(value):
            return str(int(value))
        return format(Decimal(repr(value)), "f")  # never scientific notation
    if isinstance(value, Mapping):
        return _pairs(value, frozenset())
    if isinstance(value, list | tuple):
        return "".join(_text(item) for item in value)
    return str(value)


def _pairs(params: Mapping[str, Any], excluded: frozenset[str]) -> str:
    keys = sorted((k for k in params if k not in excluded),
                  key=lambda k: k.encode("utf-8", "surrogatepass"))
    return "".join(key + _text(params[key]) for key in keys)


def string_to_sign(params: Mapping[str, Any], private_key: str) -> str:
    """Every parameter but ``Signature``/``signature``, ``key + value`` in byte order of the
    keys, then the private key."""
    return _pairs(params, UNSIGNED) + private_key


def sign(params: Mapping[str, Any], private_key: str) -> str:
    """PICPIK's ``Signature``: lower-case hex SHA1 of :func:`string_to_sign` (not an HMAC)."""
    data = string_to_sign(params, private_key).encode("utf-8", "surrogatepass")
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


# --- requests and answers -------------------------------------------------------------------


def data_uri(image: Image) -> str:
    """``image`` as ``RawImage``: bytes become a ``data:`` URI, a str is sent as it is."""
    if isinstance(image, str):
        return image
    raw = bytes(image)
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        mime = "image/webp"
    else:
        mime = next((m for magic, m in IMAGE_TYPES if raw.startswith(magic)),
                    "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _knobs(erode_size: int | None, foreground_threshold: int | None,
           background_threshold: int | None, hair_optimization: str | None,
           only_mask: bool | None) -> Body:
    given = {"ErodeSize": erode_size, "ForegroundThreshold": foreground_threshold,
             "BackgroundThreshold": background_threshold, "HairOptimization": hair_optimization,
             "OnlyMask": only_mask}
    return {name: value for name, value in given.items() if value is not None}


def _answer(response: httpx.Response, action: str) -> Body:
    """The success body of ``action``; :class:`PicpikError` for anything else. Which answer a
    body is, the contracts say; a success is checked against its schema whole."""
    status, operation = response.status_code, OPERATIONS[action]
    try:
        body = response.json()
    except ValueError:
        body = None
    schema = contracts.response_schema("picpik", operation, body)
    if schema is not None and schema != f"{operation}.response":  # the error envelope
        raise PicpikError(_int(body.get("RetCode"), status), str(body.get("Message") or ""),
                          action=body.get("Action"), request_uuid=body.get("request_uuid"),
                          status=status)
    if schema is None or not response.is_success:
        raise PicpikError(status, f"not a PICPIK answer: {gist(response)}", status=status)
    try:
        contracts.check_response("picpik", operation, body)
    except contracts.ContractViolation as exc:
        raise PicpikError(status, f"not a PICPIK {action} answer: {exc}", status=status,
                          request_uuid=body.get("request_uuid")) from None
    return body


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _check_storage(response: httpx.Response) -> bytes:
    if response.is_success:
        return response.content
    code, message = storage_error(response)
    raise PicpikError(response.status_code, message, status=response.status_code, code=code)


# --- clients --------------------------------------------------------------------------------


class _Base:
    """Everything but the I/O: each call is a flow (see :mod:`client._common`)."""

    http: httpx.Client | httpx.AsyncClient
    _open_http: Callable[[float, Any, Any], None]  # from SyncHTTP or AsyncHTTP

    def __init__(self, public_key: str | None, private_key: str | None, base_url: str,
                 timeout: float, transport: Any, http_client: Any,
                 request_uuid: Callable[[], str]) -> None:
        self.public_key = credential(public_key, PUBLIC_KEY_ENV, what="PICPIK public key")
        self.private_key = credential(private_key, PRIVATE_KEY_ENV, what="PICPIK private key")
        self.base_url = base_url.rstrip("/") + "/"
        self.request_uuid = request_uuid
        self._open_http(timeout, transport, http_client)  # SyncHTTP's or AsyncHTTP's

    def signed(self, action: str, params: Mapping[str, Any]) -> Body:
        """The body of one call: the parameters, ``Action``, ``PublicKey``, a fresh
        ``request_uuid`` and the ``Signature`` over all of them."""
        body: Body = {"Action": action, "PublicKey": self.public_key, **params,
                      "request_uuid": self.request_uuid()}
        body["Signature"] = sign(body, self.private_key)
        return body

    def _call(self, action: str, params: Mapping[str, Any]) -> Flow[Body]:
        request = self.http.build_request("POST", self.base_url, json=self.signed(action, params))
        return _answer((yield request), action)

    def _remove_background(self, image: Image, box: Sequence[int] | None,
                           remove_type: str | None, knobs: Body) -> Flow[str]:
        params: Body = {"RawImage": data_uri(image), **knobs}
        if box is not None:
            params["Box"] = [int(v) for v in box]
        if remove_type is not None:
            params["RemoveType"] = remove_type
        return str((yield from self._call("RemoveBackground", params))["TaskUID"])

    def _remove_backgrounds(self, images: Iterable[Image], knobs: Body) -> Flow[list[str]]:
        params = {"RawImages": [data_uri(image) for image in images], **knobs}
        body = yield from self._call("RemoveBackgroundsInBatch", params)
        return [str(uid) for uid in body["TaskUIDList"]]

    def _tasks(self, uids: Iterable[str]) -> Flow[list[TaskDetail]]:
        body = yield from self._call("ListTasksDetails", {"TaskUIDList": list(uids)})
        return [TaskDetail.of(item) for item in body["TaskDetailList"]]

    def _task(self, uid: str) -> Flow[TaskDetail]:
        found = [t for t in (yield from self._tasks([uid])) if t.task_uid == uid]
        if not found:
            raise PicpikError(200, f"ListTasksDetails answered no TaskDetail for {uid}",
                              action="ListTasksDetails", status=200)
        return found[0]

    def _wait(self, uid: str, timeout: float | None, interval: float, max_interval: float,
              backoff: float) -> Flow[TaskDetail]:
        try:
            task = yield from polling(lambda: self._task(uid), lambda t: t.done,
                                      timeout=timeout,
                                      backoff=Backoff(interval, max_interval, backoff))
        except PollTimeout as exc:
            raise PicpikTimeout(uid, exc.last, exc.elapsed) from None
        if task.status == "Error":
            raise PicpikTaskFailed(task)
        return task

    def _download(self, url: str) -> Flow[bytes]:
        return _check_storage((yield self.http.build_request("GET", url)))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(public_key={self.public_key!r}, "
                f"base_url={self.base_url!r})")


def _new_uuid() -> str:
    return str(uuid.uuid4())


class PicpikClient(_Base, SyncHTTP):
    """PICPIK over a sync ``httpx.Client``.

    ``transport`` goes into the client this object makes; ``http_client`` is used as given (and
    not closed by :meth:`close`). Keys default to ``$PICPIK_PUBLIC_KEY`` /
    ``$PICPIK_PRIVATE_KEY``; ``request_uuid`` makes each call's ``request_uuid``.
    """

    http: httpx.Client

    def __init__(self, public_key: str | None = None, private_key: str | None = None,
                 base_url: str = DEFAULT_BASE_URL, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None,
                 http_client: httpx.Client | None = None,
                 request_uuid: Callable[[], str] = _new_uuid) -> None:
        super().__init__(public_key, private_key, base_url, timeout, transport, http_client,
                         request_uuid)

    def remove_background(self, image: Image, box: Sequence[int] | None = None, *,
                          erode_size: int | None = None,
                          foreground_threshold: int | None = None,
                          background_threshold: int | None = None,
                          hair_optimization: str | None = None, only_mask: bool | None = None,
                          remove_type: str | None = None) -> str:
        """Submit one image (``RemoveBackground``); returns its ``TaskUID``. ``box`` is
        (x1, y1, x2, y2): the subject is looked for only there."""
        knobs = _knobs(erode_size, foreground_threshold, background_threshold,
                       hair_optimization, only_mask)
        return self._run(self._remove_background(image, box, remove_type, knobs))

    def remove_backgrounds(self, images: Iterable[Image], *, erode_size: int | None = None,
                           foreground_threshold: int | None = None,
                           background_threshold: int | None = None,
                           hair_optimization: str | None = None,
                           only_mask: bool | None = None) -> list[str]:
        """Submit several images in one call (``RemoveBackgroundsInBatch``); one ``TaskUID``
        per image, in order."""
        knobs = _knobs(erode_size, foreground_threshold, background_threshold,
                       hair_optimization, only_mask)
        return self._run(self._remove_backgrounds(images, knobs))

    def tasks(self, uids: Iterable[str]) -> list[TaskDetail]:
        """``ListTasksDetails``: one :class:`TaskDetail` per uid, in order."""
        return self._run(self._tasks(uids))

    def task(self, uid: str) -> TaskDetail:
        return self._run(self._task(uid))

    def wait(self, uid: str, timeout: float | None = 300.0, interval: float = 1.0,
             max_interval: float = 10.0, backoff: float = 1.5, *,
             sleep: Callable[[float], object] | None = None) -> TaskDetail:
        """Poll until the task is ``Finished`` (returned) or ``Error`` (raises)."""
        return self._run(self._wait(uid, timeout, interval, max_interval, backoff), sleep)

    def download(self, url: str) -> bytes:
        """GET a result URL (``ImgList``; no PICPIK parameters)."""
        return self._run(self._download(url))


class AsyncPicpikClient(_Base, AsyncHTTP):
    """:class:`PicpikClient` over ``httpx.AsyncClient``; every call is a coroutine."""

    http: httpx.AsyncClient

    def __init__(self, public_key: str | None = None, private_key: str | None = None,
                 base_url: str = DEFAULT_BASE_URL, *, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 http_client: httpx.AsyncClient | None = None,
                 request_uuid: Callable[[], str] = _new_uuid) -> None:
        super().__init__(public_key, private_key, base_url, timeout, transport, http_client,
                         request_uuid)

    async def remove_background(self, image: Image, box: Sequence[int] | None = None, *,
                                erode_size: int | None = None,
                                foreground_threshold: int | None = None,
                                background_threshold: int | None = None,
                                hair_optimization: str | None = None,
                                only_mask: bool | None = None,
                                remove_type: str | None = None) -> str:
        knobs = _knobs(erode_size, foreground_threshold, background_threshold,
                       hair_optimization, only_mask)
        return await self._run(self._remove_background(image, box, remove_type, knobs))

    async def remove_backgrounds(self, images: Iterable[Image], *,
                                 erode_size: int | None = None,
                                 foreground_threshold: int | None = None,
                                 background_threshold: int | None = None,
                                 hair_optimization: str | None = None,
                                 only_mask: bool | None = None) -> list[str]:
        knobs = _knobs(erode_size, foreground_threshold, background_threshold,
                       hair_optimization, only_mask)
        return await self._run(self._remove_backgrounds(images, knobs))

    async def tasks(self, uids: Iterable[str]) -> list[TaskDetail]:
        return await self._run(self._tasks(uids))

    async def task(self, uid: str) -> TaskDetail:
        return await self._run(self._task(uid))

    async def wait(self, uid: str, timeout: float | None = 300.0, interval: float = 1.0,
                   max_interval: float = 10.0, backoff: float = 1.5, *,
                   sleep: Callable[[float], Awaitable[object]] | None = None) -> TaskDetail:
        return await self._run(self._wait(uid, timeout, interval, max_interval, backoff),
                               sleep)

    async def download(self, url: str) -> bytes:
        return await self._run(self._download(url))
