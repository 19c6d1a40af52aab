"""PICPIK's request signature (providers/picpik.md, "Authentication and signing", decision K3).

Every parameter except ``Signature`` (and the lower-case ``signature`` the official demo uses),
keys sorted byte-wise, ``key + value`` concatenated without separators, the PrivateKey appended,
then lower-case hex SHA1 (plain, not HMAC). Values become text the way PICPIK's official
``sign_platform`` writes them: ``true``/``false``, integral floats as integers, arrays
concatenated without index, objects sorted and concatenated recursively, null as ``""``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from decimal import Decimal
from typing import Any

EXCLUDED = frozenset({"Signature", "signature"})


def text(value: Any) -> str:
    """One value as it enters the signed string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        # Never scientific notation (signature rule); repr is the shortest round-trip form.
        return format(Decimal(repr(value)), "f") if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return pairs(value)
    if isinstance(value, list):
        return "".join(text(item) for item in value)
    return str(value)


def _order(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def pairs(params: dict[str, Any], excluded: frozenset[str] = frozenset()) -> str:
    """``key + value`` for every key not ``excluded``, keys in byte order."""
    return "".join(key + text(params[key])
                   for key in sorted(params, key=_order) if key not in excluded)


def string_to_sign(params: dict[str, Any], private_key: str) -> str:
    return pairs(params, EXCLUDED) + private_key


def sign(params: dict[str, Any], private_key: str) -> str:
    """The ``Signature`` of ``params`` (a ``Signature`` key among them is left out)."""
    data = string_to_sign(params, private_key).encode("utf-8", "surrogatepass")
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def verify(params: dict[str, Any], private_key: str, given: str) -> bool:
    """``given`` is the signature of ``params``; compared in constant time, case-insensitive
    (the official signers write lower case)."""
    return hmac.compare_digest(sign(params, private_key).encode(),
                               given.lower().encode("utf-8", "surrogatepass"))
