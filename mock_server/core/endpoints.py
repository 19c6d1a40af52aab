"""The provider pipeline's public names, where providers have always imported them from.

The pieces live in small modules: :mod:`~bgmock.server.core.edge` (reading input, base URLs),
:mod:`~bgmock.server.core.pipeline` (one operation's way: faults, auth, validation, handler),
:mod:`~bgmock.server.core.dispatch` (routes, operations named by the request, one answer, the
journal) and :mod:`~bgmock.server.core.websocket` (a WebSocket route, one message at a time).
"""

from __future__ import annotations

from bgmock.server.core.dispatch import ProviderApp
from bgmock.server.core.edge import (
    Headers,
    Unreadable,
    base_url,
    control_error,
    headers_of,
    parse_json,
    query_of,
    read_body,
    read_json_body,
    read_params,
)
from bgmock.server.core.jsonbody import FastJSONResponse
from bgmock.server.core.pipeline import (
    Call,
    ControlError,
    Handler,
    Incoming,
    Outcome,
    ProviderError,
    Spec,
    SpecBase,
)

__all__ = ["Call", "ControlError", "FastJSONResponse", "Handler", "Headers", "Incoming",
           "Outcome", "ProviderApp", "ProviderError", "Spec", "SpecBase", "Unreadable",
           "base_url", "control_error", "headers_of", "parse_json", "query_of", "read_body",
           "read_json_body", "read_params"]
