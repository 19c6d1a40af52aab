"""Calling the Aidge mock as the official samples do, signed independently of the mock's code."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from tests.harness import Target, answer

APP_KEY, SECRET = "512345", "S4etzZ73nF08vOXVhk3wZjIaLSHw0123"
CUT_OUT = "/aidge/rest/ai/image/cut/out"
DOCS_URL = "https://ae01.alicdn.com/kf/Sa78257f1d9a34dad8ee494178db12ec8l.jpg"


def hmac_upper(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def v2_query(timestamp_ms: int, app_key: str = APP_KEY, secret: str = SECRET) -> dict[str, str]:
    """The URL template of aidge-python's ImageBackgroundRemovalHttpExample.py."""
    ts = str(timestamp_ms)
    return {"partner_id": "aidge", "sign_method": "sha256", "sign_ver": "v2",
            "app_key": app_key, "timestamp": ts, "sign": hmac_upper(secret, secret + ts)}


def iop_query(timestamp_ms: int, api: str, business: dict[str, str], app_key: str = APP_KEY,
              secret: str = SECRET) -> dict[str, str]:
    """What the IOP SDK's IopClient sends on the query string (business params go in the form)."""
    system = {"app_key": app_key, "timestamp": str(timestamp_ms), "sign_method": "sha256",
              "partner_id": "iop-sdk-java-20181207"}
    pairs = {k: v for k, v in {**system, **business}.items() if v}
    base = api + "".join(k + pairs[k] for k in sorted(pairs, key=str.encode))
    return {**system, "sign": hmac_upper(secret, base)}


def checked(response: httpx.Response) -> dict[str, Any]:
    """The body, validated against whichever Aidge answer shape it is."""
    assert response.status_code == 200, response.text
    return answer("aidge", "cut_out", response)


class AidgeApi(Target):
    """Aidge on the mock, as the docs' demo app, signing v2 with the mock's clock."""

    provider = "aidge"

    def now_ms(self) -> int:
        return int(self.engine.clock.now() * 1000)

    def credentials(self) -> dict[str, Any]:
        return {"params": v2_query(self.now_ms())}

    def cut(self, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """One signed cut-out with a JSON body (the docs' request by default), checked: HTTP
        200 and one of Aidge's answers. ``params`` replaces the v2 signature."""
        if body is None:
            body = {"imageUrl": DOCS_URL, "backGroundType": "WHITE_BACKGROUND"}
        return checked(self.post(CUT_OUT, json=body, **kw))
