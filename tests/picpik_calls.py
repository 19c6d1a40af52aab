"""Calling the PICPIK mock as PICPIK's official signer does (``sign_platform``), written here
independently of the mock's own signing code."""

from __future__ import annotations

import base64
import hashlib
import io
from decimal import Decimal
from typing import Any

import httpx
from bgmock.server.core import imaging
from PIL import Image

from bgmock import contracts
from tests.harness import Target, answer, target_fixture

PUBLIC_KEY, PRIVATE_KEY = "abcdefg", "123456"                 # the signature page's keys (K16)
DOCS_KEY = "ALLak9M4cNdHXKOJAJJ4k8Hh1hZS2EgJF1D0FlPwfl"       # the docs' key, unchecked (K16)
GATEWAY = "/picpik/"


def _text(value: Any) -> str:
    """picpik_signer.py's ``__any_2_string``, with the signature page's rule that a float is
    never written in scientific notation (the official Python signer's ``str`` would)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and int(value) == value:
        return str(int(value))
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, dict):
        return "".join(f"{k}{_text(value[k])}" for k in sorted(value))
    if isinstance(value, list):
        return "".join(_text(v) for v in value)
    return "" if value is None or value == "" else str(value)


def sign_platform(body: dict[str, Any], private_key: str = PRIVATE_KEY) -> str:
    content = "".join(f"{k}{_text(body[k])}" for k in sorted(body)) + private_key
    return hashlib.sha1(content.encode()).hexdigest()


def signed(body: dict[str, Any], private_key: str = PRIVATE_KEY) -> dict[str, Any]:
    """``body`` with its ``Signature`` (computed before the key is added, as the docs do)."""
    return {**body, "Signature": sign_platform(body, private_key)}


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


PRODUCT = imaging.synthetic_product("picpik", 400, 300, (80, 60, 320, 240))
PRODUCT_PNG = imaging.encode(PRODUCT, "png")
RAW = data_uri(PRODUCT_PNG)


def operation_of(action: Any) -> str | None:
    """The contract operation an ``Action`` names (None: one the mock does not serve)."""
    for name, op in contracts.operations("picpik")["operations"].items():
        if op["select"]["value"] == action:
            return name
    return None


class PicpikApi(Target):
    """PICPIK on the mock, as the signature page's test key, every body signed."""

    provider = "picpik"
    public_key: str = PUBLIC_KEY
    private_key: str = PRIVATE_KEY

    def send(self, body: Any, *, sign: bool = True, **kw: Any) -> httpx.Response:
        """POST ``body`` (a dict gets PublicKey and Signature unless given or ``sign`` is
        False) to the gateway."""
        if isinstance(body, dict) and sign:
            body = signed({"PublicKey": self.public_key, **body}, self.private_key)
        return self.post(GATEWAY, json=body, **kw)

    def act(self, action: str, *, sign: bool = True, headers: dict[str, str] | None = None,
            **params: Any) -> dict[str, Any]:
        """One action, its answer checked against the contracts (HTTP 200 and PICPIK's
        envelope echoing the Action)."""
        response = self.send({"Action": action, **params}, sign=sign, headers=headers or {})
        assert response.status_code == 200, response.text
        body = answer("picpik", operation_of(action), response)
        assert body["Action"] == action
        return body

    def ok(self, action: str, **params: Any) -> dict[str, Any]:
        body = self.act(action, **params)
        assert body["RetCode"] == 0, body
        return body

    def submit(self, raw: str = RAW, **params: Any) -> str:
        return self.ok("RemoveBackground", RawImage=raw, **params)["TaskUID"]

    def details(self, *uids: str) -> list[dict[str, Any]]:
        return self.ok("ListTasksDetails", TaskUIDList=list(uids))["TaskDetailList"]

    def finished(self, uid: str) -> dict[str, Any]:
        """The task's detail after its time has passed on the virtual clock."""
        self.controls.advance(10)
        (detail,) = self.details(uid)
        return detail

    def image(self, url: str) -> Image.Image:
        response = self.http.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        return _open(response.content)

    def result(self, uid: str) -> Image.Image:
        detail = self.finished(uid)
        assert detail["Status"] == "Finished", detail
        (url,) = detail["ImgList"]
        return self.image(url)


def _open(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img


picpik = target_fixture(PicpikApi, "picpik")
