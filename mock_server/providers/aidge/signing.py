"""Aidge's two request signatures (providers/aidge.md, "Authentication and signing").

- v2 (every official Aidge sample): HMAC-SHA256 keyed by the secret over secret + timestamp.
- classic IOP (the IOP SDK's ``IopClient``): HMAC-SHA256 keyed by the secret over the API path
  followed by every parameter ``key + value``, keys in byte order, ``sign`` and empty values
  left out. With a JSON body, its top-level fields join the pairs: strings as they are, other
  values as compact JSON (decision A19).

Both give 64 upper-case hex characters.
"""

from __future__ import annotations

import hmac
import json
from typing import Any


def _hmac_hex(secret: str, message: str) -> str:
    return hmac.digest(secret.encode(), message.encode(), "sha256").hex().upper()


def sign_v2(secret: str, timestamp: str) -> str:
    return _hmac_hex(secret, secret + timestamp)


def pair_value(value: Any) -> str | None:
    """How one parameter value enters the IOP base string (None: left out)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"),
                                                          ensure_ascii=False)
    return text or None


def iop_base(api_path: str, params: dict[str, Any]) -> str:
    pairs = {k: v for k, v in ((k, pair_value(v)) for k, v in params.items())
             if v is not None and k != "sign"}
    ordered = sorted(pairs, key=lambda k: k.encode())
    return api_path + "".join(k + pairs[k] for k in ordered)


def sign_iop(secret: str, api_path: str, params: dict[str, Any]) -> str:
    return _hmac_hex(secret, iop_base(api_path, params))


def verify(secret: str, api_path: str, query: dict[str, str], body: Any) -> bool:
    """Check ``sign`` in either style, chosen by ``sign_ver`` (A1)."""
    given = query.get("sign", "")
    if query.get("sign_ver") == "v2":
        expected = sign_v2(secret, query.get("timestamp", ""))
    else:
        params: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
        params.update(query)
        expected = sign_iop(secret, api_path, params)
    return hmac.compare_digest(expected, given.upper()) if given else False
