"""Thin reference client for Topview's upload, remove-background and product-avatar API.

::

    with TopviewClient() as topview:          # $TOPVIEW_UID / $TOPVIEW_API_KEY
        file_id = topview.upload("shoe.jpg")
        task_id = topview.remove_background(file_id)
        result = topview.wait(task_id)
        png = topview.download(result["bgRemovedImagePath"])
        # product avatar: the cut-out into a template, then a video of a result image
        task_id = topview.replace_product_image(result["bgRemovedImageFileId"], mode="auto",
                                                avatar_id=topview.public_avatars()["data"][0]["avatarId"])
        image = topview.wait(task_id, kind="replace_product_image")["replaceProductResult"][0]
        task_id = topview.image_to_video(image["imageId"], mode="pro", tts_text="Hi",
                                         voice_id="zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t")
        mp4 = topview.download(topview.wait(task_id, kind="image_to_video")["finishedVideoUrl"])
        scene = topview.product_background(result["bgRemovedImageFileId"], mode="prompt",
                                           prompt="a sunny kitchen counter")
        composite = topview.wait(scene, kind="product_background")["anyfitImages"][0]["url"]

:class:`AsyncTopviewClient` has the same methods as coroutines.

Errors. Every API answer is an envelope ``{code, message, result}``; a ``code`` other than
``"200"`` raises :class:`TopviewError` with that code (a string, as Topview sends it). The HTTP
status is checked first: a non-2xx answer carrying an envelope raises with the envelope's code,
any other non-2xx (or a 2xx that is not an envelope) with ``code = str(status)``. Storage
answers (the presigned upload ``PUT`` and :meth:`~TopviewClient.download`) that fail raise
:class:`TopviewError` with S3's XML ``<Code>`` (``AccessDenied``, ``EntityTooLarge``, ...).
Transport failures are httpx's own exceptions, unchanged.

Waiting. :meth:`~TopviewClient.wait` polls the task with exponential backoff until it is
``success`` or ``fail``; ``kind=`` names the task's operation (``"remove_background"``,
``"product_background"``). Decision: a ``fail`` status *raises* :class:`TopviewTaskFailed` (code
``"fail"``, message Topview's ``errorMsg``, the whole query result in ``.result``), so a caller
never mistakes a failed task for a finished one. Running out of time raises
:class:`TopviewTimeout`, a :class:`TimeoutError` naming the last status. ``sleep=`` is
injectable; the time budget counts at least the time slept, so a fake sleep still times out.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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
    storage_error,
)

from bgmock import contracts

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncTopviewClient",
    "TopviewClient",
    "TopviewError",
    "TopviewTaskFailed",
    "TopviewTimeout",
    "sniff_format",
]

DEFAULT_BASE_URL = "https://api.topview.ai"
UID_ENV, API_KEY_ENV = "TOPVIEW_UID", "TOPVIEW_API_KEY"
TERMINAL = frozenset({"success", "fail"})
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
}
OPERATIONS = contracts.operations("topview")["operations"]  # method and path of each call

Source = str | os.PathLike[str] | bytes | bytearray | memoryview
Result = dict[str, Any]


class TopviewError(ProviderError):
    """A Topview error code (``"401"``, ``"4004"``, ...) or a storage error code."""

    provider = "topview"


class TopviewTaskFailed(TopviewError):
    """The task ended ``fail``; ``result`` is the query result (``errorMsg`` says why)."""

    def __init__(self, task_id: str, result: Result) -> None:
        super().__init__("fail", str(result.get("errorMsg") or "task failed"))
        self.task_id = task_id
        self.result = result


class TopviewTimeout(PollTimeout):
    """:meth:`wait` ran out of time; ``status`` is the task's last status."""

    def __init__(self, task_id: str, last: Result, elapsed: float) -> None:
        self.task_id = task_id
        self.status = str(last.get("status"))
        super().__init__(
            f"Topview task {task_id} still {self.status!r} after {elapsed:g}s",
            last=last,
            elapsed=elapsed,
        )


# --- formats ----------------------------------------------------------------------------


def sniff_format(data: bytes) -> str | None:
    """The Topview ``format`` for these bytes, from their magic number; ``None`` if unknown."""
    head = bytes(data[:16])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:4] == b"RIFF":
        return {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    if head[4:8] == b"ftyp":
        return {b"qt  ": "mov", b"M4A ": "m4a"}.get(head[8:12], "mp4")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head.startswith(b"BM") and len(head) >= 14:
        return "bmp"
    return None


def _prepare(path_or_bytes: Source, format: str | None) -> tuple[bytes, str]:
    """The bytes to upload and their format: ``format``, else the suffix, else the content."""
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        data, suffix, name = bytes(path_or_bytes), "", "these bytes"
    else:
        path = Path(path_or_bytes)
        data, suffix, name = path.read_bytes(), path.suffix, str(path)
    fmt = (format or "").lower().lstrip(".")
    if not fmt:
        fmt = suffix.lower().lstrip(".")
        if fmt not in CONTENT_TYPES:
            fmt = sniff_format(data) or ""
    if not fmt:
        raise ValueError(f"cannot tell the format of {name}; pass format=")
    return data, fmt


# --- answers ----------------------------------------------------------------------------


def _unwrap(response: httpx.Response, operation: str) -> Any:
    """The ``result`` of the operation's success envelope; :class:`TopviewError` for anything
    else. Which envelope a body is, the contracts say (:func:`contracts.response_schema`)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    schema = contracts.response_schema("topview", operation, body)
    if schema is not None and (not response.is_success or schema != f"{operation}.response"):
        message = str(body.get("message") or "")
        raise TopviewError(str(body["code"]), message, status=status)
    if not response.is_success:
        raise TopviewError(str(status), gist(response), status=status)
    if schema is None:
        raise TopviewError(str(status), f"not a Topview answer: {gist(response)}", status=status)
    return body.get("result")


def _check_storage(response: httpx.Response) -> None:
    """A refused upload or download raises with the storage service's XML code."""
    if response.is_success:
        return
    code, message = storage_error(response)
    raise TopviewError(code or str(response.status_code), message, status=response.status_code)


def _confirmed(file_id: str, checked: Any) -> str:
    if checked is not True:
        raise TopviewError("upload_unconfirmed", f"upload check for {file_id} said {checked!r}")
    return file_id


def _finished(task_id: str, result: Result) -> Result:
    if result.get("status") == "fail":
        raise TopviewTaskFailed(task_id, result)
    return result


def _done(result: Result) -> bool:
    return result.get("status") in TERMINAL


def _submit_body(file_id: str, notice_url: str | None) -> dict[str, str]:
    body = {"productImageFileId": file_id}
    if notice_url is not None:
        body["noticeUrl"] = notice_url
    return body


def _product_background_body(cutout_file_id: str, mode: str, template_image_file_id: str | None,
                             template_id: str | None, prompt: str | None,
                             aspect_ratio: str | None, location: Any,
                             product_similarity: str | None, notice_url: str | None
                             ) -> dict[str, Any]:
    """The submit body: only what was given (the mock's defaults fill the rest, T33)."""
    given = {"mode": mode, "productImageWithoutBackgroundFileId": cutout_file_id,
             "templateImageFileId": template_image_file_id, "templateId": template_id,
             "prompt": prompt, "aspectRatio": aspect_ratio,
             "location": [list(point) for point in location] if location is not None else None,
             "productSimilarity": product_similarity, "noticeUrl": notice_url}
    return {name: value for name, value in given.items() if value is not None}


def _kind(kind: str) -> str:
    """The query operation of a task kind (``"remove_background"`` -> its ``_query``)."""
    if f"{kind}_query" not in OPERATIONS:
        raise ValueError(f"unknown Topview task kind {kind!r}")
    return f"{kind}_query"


def _query_params(task_id: str, cloudfront: bool) -> dict[str, str]:
    return {"taskId": task_id, "needCloudFrontUrl": "true" if cloudfront else "false"}



def _optional(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``body`` plus the fields that were given (not None)."""
    return {**body, **{k: v for k, v in fields.items() if v is not None}}


def _replace_body(cutout_file_id: str, mode: str, template_image_file_id: str | None,
                  avatar_id: str | None, location: Any, image_edit_prompt: str | None,
                  user_face_image_file_id: str | None, notice_url: str | None) -> dict[str, Any]:
    if not template_image_file_id and not avatar_id:
        raise ValueError("give template_image_file_id or avatar_id")
    if location is not None:
        location = [[float(x), float(y)] for x, y in location]
    return _optional({"generateImageMode": mode,
                      "productImageWithoutBackgroundFileId": cutout_file_id},
                     templateImageFileId=template_image_file_id, avatarId=avatar_id,
                     location=location, imageEditPrompt=image_edit_prompt,
                     userFaceImageFileId=user_face_image_file_id, noticeUrl=notice_url)


def _video_body(image_id: str, mode: str, tts_text: str | None, voice_id: str | None,
                audio_file_id: str | None, caption_id: str | None,
                notice_url: str | None) -> dict[str, Any]:
    script = "audio" if audio_file_id else "text"
    return _optional({"replaceProductTaskImageId": image_id, "mode": mode, "scriptMode": script},
                     ttsText=tts_text, voiceId=voice_id, audioFileId=audio_file_id,
                     captionId=caption_id, noticeUrl=notice_url)


def _avatar_params(gender: str | None, category_ids: Any, ethnicity_ids: Any,
                   sorting_type: str | None, page_no: int, page_size: int) -> dict[str, str]:
    def joined(ids: Any) -> str | None:
        return ids if ids is None or isinstance(ids, str) else ",".join(map(str, ids))

    return _optional({"pageNo": str(page_no), "pageSize": str(page_size)}, gender=gender,
                     categoryIds=joined(category_ids), ethnicityIds=joined(ethnicity_ids),
                     sortingType=sorting_type)


# --- clients ----------------------------------------------------------------------------


class _Base:
    """Everything but the I/O: each call is a flow (see :mod:`client._common`)."""

    http: httpx.Client | httpx.AsyncClient
    _open_http: Callable[[float, Any, Any], None]  # from SyncHTTP or AsyncHTTP

    def __init__(self, uid: str | None, api_key: str | None, base_url: str, timeout: float,
                 transport: Any, http_client: Any) -> None:
        self.uid = credential(uid, UID_ENV, what="Topview uid")
        self.api_key = credential(api_key, API_KEY_ENV, what="Topview API key")
        self.base_url = base_url.rstrip("/")
        # Per request, never on the httpx client: presigned storage URLs must not get them.
        self._auth = {"Topview-Uid": self.uid, "Authorization": f"Bearer {self.api_key}"}
        self._open_http(timeout, transport, http_client)  # SyncHTTP's or AsyncHTTP's

    def _call(self, operation: str, **kwargs: Any) -> Flow[Any]:
        op = OPERATIONS[operation]
        url = f"{self.base_url}{op['path']}"
        request = self.http.build_request(op["method"], url, headers=self._auth, **kwargs)
        return _unwrap((yield request), operation)

    def _upload(self, path_or_bytes: Source, format: str | None) -> Flow[str]:
        data, fmt = yield Blocking(_prepare, (path_or_bytes, format))
        grant = yield from self._call("upload_credential", params={"format": fmt})
        content_type = CONTENT_TYPES.get(fmt, "application/octet-stream")
        put = yield self.http.build_request(
            "PUT", grant["uploadUrl"], content=data, headers={"Content-Type": content_type}
        )
        _check_storage(put)
        file_id = str(grant["fileId"])
        return _confirmed(file_id, (yield from self._call("upload_check",
                                                          params={"fileId": file_id})))

    def _remove_background(self, file_id: str, notice_url: str | None) -> Flow[str]:
        body = _submit_body(file_id, notice_url)
        return str((yield from self._call("remove_background_submit", json=body))["taskId"])

    def _query(self, task_id: str, cloudfront: bool,
               kind: str = "remove_background") -> Flow[Result]:
        params = _query_params(task_id, cloudfront)
        return (yield from self._call(_kind(kind), params=params))

    def _product_background(self, body: dict[str, Any]) -> Flow[str]:
        return str((yield from self._call("product_background_submit", json=body))["taskId"])

    def _voices(self, filters: dict[str, Any]) -> Flow[Result]:
        params = {name: ("true" if value else "false") if isinstance(value, bool) else str(value)
                  for name, value in filters.items() if value is not None}
        return dict((yield from self._call("voice_query", params=params)))

    def _captions(self) -> Flow[list[Result]]:
        return list((yield from self._call("caption_list")))

    def _wait(self, task_id: str, timeout: float | None, interval: float, max_interval: float,
              backoff: float, cloudfront: bool, kind: str = "remove_background") -> Flow[Result]:
        _kind(kind)  # an unknown kind fails before anything is sent
        try:
            result = yield from polling(
                lambda: self._query(task_id, cloudfront, kind),
                _done,
                timeout=timeout,
                backoff=Backoff(interval, max_interval, backoff),
            )
        except PollTimeout as exc:
            raise TopviewTimeout(task_id, exc.last, exc.elapsed) from None
        return _finished(task_id, result)

    def _and_wait(self, file_id: str, notice_url: str | None,
                  wait: dict[str, Any]) -> tuple[Flow[Result], Any]:
        """The flow of ``remove_background_and_wait`` and the ``sleep`` it was given."""
        sleep = wait.pop("sleep", None)
        options = _wait_options(**wait)  # a wrong keyword fails before anything is sent

        def flow() -> Flow[Result]:
            task_id = yield from self._remove_background(file_id, notice_url)
            return (yield from self._wait(task_id, **options))

        return flow(), sleep

    def _submit(self, operation: str, body: dict[str, Any]) -> Flow[str]:
        return str((yield from self._call(operation, json=body))["taskId"])

    def _lookup(self, operation: str, params: dict[str, str] | None = None) -> Flow[Any]:
        return (yield from self._call(operation, params=params or {}))

    def _credit(self) -> Flow[float]:
        return float((yield from self._call("credit_detail"))["remainCredit"])

    def _check_notice_url(self, notice_url: str) -> Flow[bool]:
        return (yield from self._call("notice_url_check", json={"noticeUrl": notice_url})) is True

    def _download(self, url: str) -> Flow[bytes]:
        response = yield self.http.build_request("GET", url)
        _check_storage(response)
        return response.content

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uid={self.uid!r}, base_url={self.base_url!r})"


def _wait_options(
    timeout: float | None = 300.0,
    interval: float = 3.0,
    max_interval: float = 30.0,
    backoff: float = 1.5,
    *,
    cloudfront: bool = False,
) -> dict[str, Any]:
    """:meth:`TopviewClient.wait`'s options (bar ``sleep``) with their defaults."""
    return {"timeout": timeout, "interval": interval, "max_interval": max_interval,
            "backoff": backoff, "cloudfront": cloudfront}


class TopviewClient(_Base, SyncHTTP):
    """Topview over a sync ``httpx.Client``.

    ``transport`` goes into the client this object makes; ``http_client`` is used as given (and
    not closed by :meth:`close`). Credentials default to ``$TOPVIEW_UID`` / ``$TOPVIEW_API_KEY``.
    """

    http: httpx.Client

    def __init__(
        self,
        uid: str | None = None,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(uid, api_key, base_url, timeout, transport, http_client)

    def upload(self, path_or_bytes: Source, format: str | None = None) -> str:
        """Upload a file (path) or bytes; returns its ``fileId``."""
        return self._run(self._upload(path_or_bytes, format))

    def remove_background(self, product_image_file_id: str, notice_url: str | None = None) -> str:
        """Submit a remove-background task; returns its ``taskId``."""
        return self._run(self._remove_background(product_image_file_id, notice_url))

    def query_remove_background(self, task_id: str, cloudfront: bool = False) -> Result:
        """The task's current ``result`` object (``status``, and the image URLs once done)."""
        return self._run(self._query(task_id, cloudfront))

    def wait(
        self,
        task_id: str,
        timeout: float | None = 300.0,
        interval: float = 3.0,
        max_interval: float = 30.0,
        backoff: float = 1.5,
        *,
        cloudfront: bool = False,
        sleep: Callable[[float], object] | None = None,
        kind: str = "remove_background",
    ) -> Result:
        """Poll until ``success`` (returns the result); see the module doc for fail/timeout.
        ``kind``: the task's operation: ``remove_background``, ``product_background``,
        ``replace_product_image`` or ``image_to_video``."""
        return self._run(self._wait(task_id, timeout, interval, max_interval, backoff,
                                    cloudfront, kind), sleep)

    def product_background(
        self,
        product_image_without_background_file_id: str,
        *,
        mode: str = "image",
        template_image_file_id: str | None = None,
        template_id: str | None = None,
        prompt: str | None = None,
        aspect_ratio: str | None = None,
        location: Any = None,
        product_similarity: str | None = None,
        notice_url: str | None = None,
    ) -> str:
        """Submit a product-background task (``mode`` image, prompt or template); returns its
        ``taskId``. ``location``: four ``(x, y)`` points, left-top, right-top, right-bottom,
        left-bottom, normalised to the image."""
        return self._run(self._product_background(_product_background_body(
            product_image_without_background_file_id, mode, template_image_file_id,
            template_id, prompt, aspect_ratio, location, product_similarity, notice_url)))

    def query_product_background(self, task_id: str, cloudfront: bool = False) -> Result:
        """The task's current ``result`` (``anyfitImages`` once done)."""
        return self._run(self._query(task_id, cloudfront, "product_background"))

    def voices(self, **filters: Any) -> Result:
        """One page of voices: ``{total, pageNo, data}``; filters and paging as Topview names
        them (``language=``, ``gender=``, ``pageNo=``, ``pageSize=``, ...)."""
        return self._run(self._voices(filters))

    def captions(self) -> list[Result]:
        """Every caption style: ``[{captionId, thumbnail}]``."""
        return self._run(self._captions())

    def remove_background_and_wait(
        self, product_image_file_id: str, notice_url: str | None = None, **wait: Any
    ) -> Result:
        """:meth:`remove_background` then :meth:`wait` (``wait``'s keyword arguments)."""
        return self._run(*self._and_wait(product_image_file_id, notice_url, wait))

    def credit(self) -> float:
        """Credits left."""
        return self._run(self._credit())

    # --- product avatar ------------------------------------------------------------------

    def replace_product_image(
        self, cutout_file_id: str, *, mode: str = "manual",
        template_image_file_id: str | None = None, avatar_id: str | None = None,
        location: Any = None, image_edit_prompt: str | None = None,
        user_face_image_file_id: str | None = None, notice_url: str | None = None,
    ) -> str:
        """Put a cut-out (``bgRemovedImageFileId``) into a template image or an avatar's;
        ``manual`` needs ``location`` (4 ``(x, y)`` points); returns the ``taskId``."""
        return self._run(self._submit("replace_product_image_submit", _replace_body(
            cutout_file_id, mode, template_image_file_id, avatar_id, location,
            image_edit_prompt, user_face_image_file_id, notice_url)))

    def query_replace_product_image(self, task_id: str, cloudfront: bool = False) -> Result:
        return self._run(self._query(task_id, cloudfront, "replace_product_image"))

    def image_to_video(
        self, image_id: str, *, mode: str = "avatar2", tts_text: str | None = None,
        voice_id: str | None = None, audio_file_id: str | None = None,
        caption_id: str | None = None, notice_url: str | None = None,
    ) -> str:
        """A video of a replace result (``imageId``), scripted by ``tts_text`` + ``voice_id``
        or by an uploaded ``audio_file_id``; returns the ``taskId``."""
        return self._run(self._submit("image_to_video_submit", _video_body(
            image_id, mode, tts_text, voice_id, audio_file_id, caption_id, notice_url)))

    def query_image_to_video(self, task_id: str, cloudfront: bool = False) -> Result:
        return self._run(self._query(task_id, cloudfront, "image_to_video"))

    def public_avatars(
        self, *, gender: str | None = None, category_ids: Any = None, ethnicity_ids: Any = None,
        sorting_type: str | None = None, page_no: int = 1, page_size: int = 20,
    ) -> Result:
        """One page of product-avatar templates: ``{total, pageNo, pageSize, data}``."""
        return self._run(self._lookup("public_avatar_query", _avatar_params(
            gender, category_ids, ethnicity_ids, sorting_type, page_no, page_size)))

    def avatar_categories(self) -> list[dict[str, str]]:
        return self._run(self._lookup("avatar_category_list"))

    def download(self, url: str) -> bytes:
        """GET a result URL (presigned: no Topview headers)."""
        return self._run(self._download(url))

    def check_notice_url(self, notice_url: str) -> bool:
        """Ask Topview whether ``notice_url`` is a usable callback URL (``TopviewError`` 4000
        when it is not)."""
        return self._run(self._check_notice_url(notice_url))


class AsyncTopviewClient(_Base, AsyncHTTP):
    """:class:`TopviewClient` over ``httpx.AsyncClient``; every call is a coroutine."""

    http: httpx.AsyncClient

    def __init__(
        self,
        uid: str | None = None,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(uid, api_key, base_url, timeout, transport, http_client)

    async def upload(self, path_or_bytes: Source, format: str | None = None) -> str:
        return await self._run(self._upload(path_or_bytes, format))

    async def remove_background(
        self, product_image_file_id: str, notice_url: str | None = None
    ) -> str:
        return await self._run(self._remove_background(product_image_file_id, notice_url))

    async def query_remove_background(self, task_id: str, cloudfront: bool = False) -> Result:
        return await self._run(self._query(task_id, cloudfront))

    async def wait(
        self,
        task_id: str,
        timeout: float | None = 300.0,
        interval: float = 3.0,
        max_interval: float = 30.0,
        backoff: float = 1.5,
        *,
        cloudfront: bool = False,
        sleep: Callable[[float], Awaitable[object]] | None = None,
        kind: str = "remove_background",
    ) -> Result:
        return await self._run(self._wait(task_id, timeout, interval, max_interval, backoff,
                                          cloudfront, kind), sleep)

    async def product_background(
        self,
        product_image_without_background_file_id: str,
        *,
        mode: str = "image",
        template_image_file_id: str | None = None,
        template_id: str | None = None,
        prompt: str | None = None,
        aspect_ratio: str | None = None,
        location: Any = None,
        product_similarity: str | None = None,
        notice_url: str | None = None,
    ) -> str:
        return await self._run(self._product_background(_product_background_body(
            product_image_without_background_file_id, mode, template_image_file_id,
            template_id, prompt, aspect_ratio, location, product_similarity, notice_url)))

    async def query_product_background(self, task_id: str, cloudfront: bool = False) -> Result:
        return await self._run(self._query(task_id, cloudfront, "product_background"))

    async def voices(self, **filters: Any) -> Result:
        return await self._run(self._voices(filters))

    async def captions(self) -> list[Result]:
        return await self._run(self._captions())

    async def remove_background_and_wait(
        self, product_image_file_id: str, notice_url: str | None = None, **wait: Any
    ) -> Result:
        return await self._run(*self._and_wait(product_image_file_id, notice_url, wait))

    async def credit(self) -> float:
        return await self._run(self._credit())

    # --- product avatar ------------------------------------------------------------------

    async def replace_product_image(
        self, cutout_file_id: str, *, mode: str = "manual",
        template_image_file_id: str | None = None, avatar_id: str | None = None,
        location: Any = None, image_edit_prompt: str | None = None,
        user_face_image_file_id: str | None = None, notice_url: str | None = None,
    ) -> str:
        return await self._run(self._submit("replace_product_image_submit", _replace_body(
            cutout_file_id, mode, template_image_file_id, avatar_id, location,
            image_edit_prompt, user_face_image_file_id, notice_url)))

    async def query_replace_product_image(self, task_id: str, cloudfront: bool = False) -> Result:
        return await self._run(self._query(task_id, cloudfront, "replace_product_image"))

    async def image_to_video(
        self, image_id: str, *, mode: str = "avatar2", tts_text: str | None = None,
        voice_id: str | None = None, audio_file_id: str | None = None,
        caption_id: str | None = None, notice_url: str | None = None,
    ) -> str:
        return await self._run(self._submit("image_to_video_submit", _video_body(
            image_id, mode, tts_text, voice_id, audio_file_id, caption_id, notice_url)))

    async def query_image_to_video(self, task_id: str, cloudfront: bool = False) -> Result:
        return await self._run(self._query(task_id, cloudfront, "image_to_video"))

    async def public_avatars(
        self, *, gender: str | None = None, category_ids: Any = None, ethnicity_ids: Any = None,
        sorting_type: str | None = None, page_no: int = 1, page_size: int = 20,
    ) -> Result:
        return await self._run(self._lookup("public_avatar_query", _avatar_params(
            gender, category_ids, ethnicity_ids, sorting_type, page_no, page_size)))

    async def avatar_categories(self) -> list[dict[str, str]]:
        return await self._run(self._lookup("avatar_category_list"))

    async def download(self, url: str) -> bytes:
        return await self._run(self._download(url))

    async def check_notice_url(self, notice_url: str) -> bool:
        return await self._run(self._check_notice_url(notice_url))
