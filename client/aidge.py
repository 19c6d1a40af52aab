"""Thin reference client for Aidge's Image Background Removal (``/ai/image/cut/out``).

::

    with AidgeClient() as aidge:               # $AIDGE_APP_KEY / $AIDGE_APP_SECRET
        result = aidge.remove_background(image_url="https://.../shoe.jpg",
                                         background="WHITE_BACKGROUND",
                                         target_width=800, target_height=1000)
        jpg = aidge.download(result.image_url)

:class:`AsyncAidgeClient` has the same methods as coroutines. Besides httpx and the standard
library it reads only bgmock's contract data (which answer is which, see
:func:`contracts.response_schema`); the request signing lives here (:func:`sign_v2`,
:func:`sign_iop`).

Signing. ``sign_style="v2"`` (default; every official Aidge sample) puts
``partner_id=aidge&sign_method=sha256&sign_ver=v2&app_key=..&timestamp=<epoch ms>&sign=..`` on
the query string, signs secret + timestamp, and POSTs the business parameters as JSON.
``sign_style="iop"`` (the classic IOP SDK, the docs' Java sample) puts ``app_key``,
``timestamp``, ``sign_method=sha256``, ``partner_id=iop-sdk-java-20181207`` and ``sign`` on the
query string, POSTs the business parameters form-encoded (all values strings) and signs the API
path followed by every parameter (system and business) as ``key + value``, keys in byte order.
The timestamp comes from ``clock`` (default :func:`time.time`): Aidge rejects timestamps far from
its own clock.

Image source. Exactly one of ``image_url`` / ``image_base64`` must be given (an empty value
counts as not given); otherwise :meth:`~AidgeClient.remove_background` raises
:class:`ValueError` before any request. (Aidge itself prefers base64 when both arrive; the client
refuses the ambiguity instead.) ``image_base64`` may be the Base64 text or the raw image bytes
(encoded here).

Errors. Every Aidge answer is HTTP 200 JSON. A gateway rejection
``{"type", "code", "message", "request_id"}`` (bad signature, timestamp, app key, quota...)
raises :class:`AidgeGatewayError` with that ``code`` (``"IncompleteSignature"``, ...). A business
failure (``success`` false / ``resCode`` not 200) raises :class:`AidgeError` with ``res_code``
(an int, e.g. 700, 501, 801) and ``code`` its string; ``request_id`` is Aidge's ``requestId``.
Any other answer - not JSON, not an Aidge body, or a non-2xx status without an Aidge body -
raises :class:`AidgeError` with the HTTP status as ``res_code``. A failed
:meth:`~AidgeClient.download` raises :class:`AidgeError` with the HTTP status as ``res_code``
and OSS's XML ``<Code>`` (``AccessDenied``, ``NoSuchKey``...) as ``code``. Transport failures
are httpx's own exceptions, unchanged. Both error classes are
:class:`client._common.ProviderError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from bgmock.client._common import (
    AsyncHTTP,
    Flow,
    ProviderError,
    SyncHTTP,
    credential,
    gist,
    storage_error,
)

from bgmock import contracts

__all__ = [
    "CUT_OUT",
    "DEFAULT_BASE_URL",
    "AidgeClient",
    "AidgeError",
    "AidgeGatewayError",
    "AsyncAidgeClient",
    "CutOutResult",
    "sign_iop",
    "sign_v2",
]

DEFAULT_BASE_URL = "https://api.aidc-ai.com"
APP_KEY_ENV, SECRET_ENV = "AIDGE_APP_KEY", "AIDGE_APP_SECRET"
CUT_OUT = "/ai/image/cut/out"
IOP_PARTNER_ID = "iop-sdk-java-20181207"
SIGN_STYLES = ("v2", "iop")

SignStyle = Literal["v2", "iop"]
Body = dict[str, Any]


class AidgeError(ProviderError):
    """A business failure (``res_code`` = Aidge's ``resCode``), or an answer that is not Aidge's
    (``res_code`` = the HTTP status). ``code`` is ``str(res_code)`` unless given."""

    provider = "aidge"

    def __init__(
        self,
        res_code: int,
        message: str,
        *,
        request_id: str | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(code or str(res_code), message, status=status)
        self.res_code = res_code
        self.request_id = request_id


class AidgeGatewayError(ProviderError):
    """The gateway refused the call before the API ran (``code`` e.g. ``IncompleteSignature``)."""

    provider = "aidge"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        request_id: str | None = None,
        type: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(code, message, status=status)
        self.request_id = request_id
        self.type = type


@dataclass(frozen=True)
class CutOutResult:
    """A successful cut-out: the result URL and size, Aidge's score and usage, the whole body."""

    image_url: str
    width: int
    height: int
    score: float
    usage: int
    request_id: str
    raw: Body


# --- signing ----------------------------------------------------------------------------


def _hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def sign_v2(secret: str, timestamp: str | int) -> str:
    """v2 signature: upper-case hex HMAC-SHA256 keyed by ``secret`` over secret + timestamp."""
    return _hmac_hex(secret, f"{secret}{timestamp}")


def sign_iop(secret: str, api_path: str, params: Mapping[str, str | None]) -> str:
    """Classic IOP signature: upper-case hex HMAC-SHA256 keyed by ``secret`` over ``api_path``
    then ``key + value`` for every parameter but ``sign``, keys in byte order, empty values
    (``None`` or ``""``) left out."""
    pairs = {k: v for k, v in params.items() if k != "sign" and v}
    base = api_path + "".join(k + str(pairs[k]) for k in sorted(pairs, key=str.encode))
    return _hmac_hex(secret, base)


# --- requests and answers -----------------------------------------------------------------


def _business(
    image_url: str | None,
    image_base64: str | bytes | None,
    background: str,
    target_width: int | None,
    target_height: int | None,
) -> Body:
    """The business parameters; ``ValueError`` unless exactly one image source is given."""
    if isinstance(image_base64, bytes | bytearray | memoryview):
        image_base64 = base64.b64encode(image_base64).decode("ascii")
    if bool(image_url) == bool(image_base64):
        raise ValueError("give exactly one of image_url or image_base64")
    params: Body = {
        "imageUrl": image_url or None,
        "imageBase64": image_base64 or None,
        "backGroundType": background,
        "targetWidth": target_width,
        "targetHeight": target_height,
    }
    return {k: v for k, v in params.items() if v is not None}


def _parse(response: httpx.Response) -> CutOutResult:
    """The result of a success body; the matching error for anything else. Which answer a body
    is, the contracts say (:func:`contracts.response_schema`)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    schema = contracts.response_schema("aidge", "cut_out", body)
    if schema == "gateway_error.response":
        raise AidgeGatewayError(
            str(body["code"]),
            str(body.get("message") or ""),
            request_id=body.get("request_id"),
            type=body.get("type"),
            status=status,
        )
    if schema is not None:  # the business envelope: cut_out.response or failure.response
        res_code, request_id = body["resCode"], body.get("requestId") or body.get("request_id")
        if schema != "cut_out.response" or res_code != 200:
            try:
                number = int(res_code)
            except (TypeError, ValueError):
                number = status
            message = str(body.get("resMessage") or "no resMessage")
            raise AidgeError(number, message, request_id=request_id, status=status)
        try:
            data = body["data"]
            return CutOutResult(
                image_url=str(data["imageUrl"]),
                width=int(data["width"]),
                height=int(data["height"]),
                score=float(data["score"]),
                usage=int(data.get("usage", 0)),
                request_id=str(request_id),
                raw=body,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise AidgeError(
                status, f"not an Aidge result: {gist(response)}", status=status
            ) from None
    if not response.is_success:
        raise AidgeError(status, gist(response), status=status)
    raise AidgeError(status, f"not an Aidge answer: {gist(response)}", status=status)


def _check_storage(response: httpx.Response) -> bytes:
    """The downloaded bytes; a refused download raises with OSS's XML code."""
    if response.is_success:
        return response.content
    code, message = storage_error(response)
    raise AidgeError(response.status_code, message, status=response.status_code, code=code)


# --- clients ----------------------------------------------------------------------------


class _Base:
    def __init__(
        self,
        app_key: str | None,
        secret: str | None,
        base_url: str,
        trial: bool,
        sign_style: str,
        clock: Callable[[], float],
        timeout: float,
        transport: Any,
        http_client: Any,
    ) -> None:
        if sign_style not in SIGN_STYLES:
            raise ValueError(f"sign_style must be 'v2' or 'iop', not {sign_style!r}")
        self.app_key = credential(app_key, APP_KEY_ENV, what="Aidge app key")
        self.secret = credential(secret, SECRET_ENV, what="Aidge app secret")
        self.base_url = base_url.rstrip("/")
        self.trial = trial
        self.sign_style = sign_style
        self.clock = clock
        self._open_http(timeout, transport, http_client)  # SyncHTTP's or AsyncHTTP's

    http: httpx.Client | httpx.AsyncClient
    _open_http: Callable[[float, Any, Any], None]  # from SyncHTTP or AsyncHTTP

    def _request(self, api_path: str, business: Body) -> dict[str, Any]:
        """``httpx`` request arguments for one signed POST to ``api_path``."""
        timestamp = str(int(self.clock() * 1000))
        headers = {"x-iop-trial": "true"} if self.trial else {}
        url = f"{self.base_url}/rest{api_path}"
        if self.sign_style == "v2":
            params = {
                "partner_id": "aidge",
                "sign_method": "sha256",
                "sign_ver": "v2",
                "app_key": self.app_key,
                "timestamp": timestamp,
                "sign": sign_v2(self.secret, timestamp),
            }
            return {"url": url, "params": params, "json": business, "headers": headers}
        form = {k: str(v) for k, v in business.items()}
        system = {
            "app_key": self.app_key,
            "timestamp": timestamp,
            "sign_method": "sha256",
            "partner_id": IOP_PARTNER_ID,
        }
        system["sign"] = sign_iop(self.secret, api_path, {**system, **form})
        return {"url": url, "params": system, "data": form, "headers": headers}

    def _remove_background(
        self,
        image_url: str | None,
        image_base64: str | bytes | None,
        background: str,
        target_width: int | None,
        target_height: int | None,
    ) -> Flow[CutOutResult]:
        business = _business(image_url, image_base64, background, target_width, target_height)
        return _parse((yield self.http.build_request("POST", **self._request(CUT_OUT, business))))

    def _download(self, url: str) -> Flow[bytes]:
        return _check_storage((yield self.http.build_request("GET", url)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(app_key={self.app_key!r}, base_url={self.base_url!r}, "
            f"sign_style={self.sign_style!r}, trial={self.trial!r})"
        )


class AidgeClient(_Base, SyncHTTP):
    """Aidge over a sync ``httpx.Client``.

    ``transport`` goes into the client this object makes; ``http_client`` is used as given (and
    not closed by :meth:`close`). Credentials default to ``$AIDGE_APP_KEY`` /
    ``$AIDGE_APP_SECRET``.
    """

    def __init__(
        self,
        app_key: str | None = None,
        secret: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        trial: bool = False,
        sign_style: SignStyle = "v2",
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(app_key, secret, base_url, trial, sign_style, clock, timeout, transport,
                         http_client)

    def remove_background(
        self,
        image_url: str | None = None,
        image_base64: str | bytes | None = None,
        background: str = "TRANSPARENT",
        target_width: int | None = None,
        target_height: int | None = None,
    ) -> CutOutResult:
        """Cut the subject out: ``"TRANSPARENT"`` (PNG) or ``"WHITE_BACKGROUND"`` (JPG)."""
        return self._run(self._remove_background(
            image_url, image_base64, background, target_width, target_height))

    def download(self, url: str) -> bytes:
        """GET a result URL (signed OSS URL: no Aidge parameters or headers)."""
        return self._run(self._download(url))


class AsyncAidgeClient(_Base, AsyncHTTP):
    """:class:`AidgeClient` over ``httpx.AsyncClient``; every call is a coroutine."""

    def __init__(
        self,
        app_key: str | None = None,
        secret: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        trial: bool = False,
        sign_style: SignStyle = "v2",
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(app_key, secret, base_url, trial, sign_style, clock, timeout, transport,
                         http_client)

    async def remove_background(
        self,
        image_url: str | None = None,
        image_base64: str | bytes | None = None,
        background: str = "TRANSPARENT",
        target_width: int | None = None,
        target_height: int | None = None,
    ) -> CutOutResult:
        return await self._run(self._remove_background(
            image_url, image_base64, background, target_width, target_height))

    async def download(self, url: str) -> bytes:
        return await self._run(self._download(url))
