"""JSON answers, encoded with orjson where it gives the same bytes as Starlette's encoder.

Starlette's ``JSONResponse`` encodes with ``json.dumps(..., ensure_ascii=False,
allow_nan=False, separators=(",", ":"))``; orjson writes the same compact UTF-8 for the values
the mock answers with (str keys, str/int/float/bool/None, lists, dicts; a float's exponent may
be spelled ``1e-5`` instead of ``1e-05``, the same JSON number) in a tenth of the time
(decision D162). What orjson cannot write falls back to Starlette's encoder: non-str keys,
integers beyond 64 bits, unknown types. NaN and infinities never reach an answer: the edge
refuses them in what clients send (``NaN`` is not JSON, RFC 8259) and the mock makes none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse

_JSON = (b"content-type", b"application/json")


class FastJSONResponse(JSONResponse):
    """A ``JSONResponse`` whose body is made by orjson (same bytes, see the module)."""

    def __init__(self, content: Any, status_code: int = 200,
                 headers: Mapping[str, str] | None = None, media_type: str | None = None,
                 background: BackgroundTask | None = None) -> None:
        if headers is not None or media_type is not None or background is not None:
            super().__init__(content, status_code, headers, media_type, background)
            return
        # the usual answer: the two headers Starlette would write, without its general path
        self.status_code, self.background = status_code, None
        self.body = body = self.render(content)
        self.raw_headers = [(b"content-length", str(len(body)).encode("latin-1")), _JSON]

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # non-str key, int over 64 bits, unknown type: Starlette decides
            return super().render(content)
