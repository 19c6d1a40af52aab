"""``operations.json`` as typed records: which operations a provider has and how a request names
them (decision D80).

An operation sits on a route, ``(path, method)``; ``WEBSOCKET`` is the method of a WebSocket
route (one message at a time). A route is named in one of three ways:

- by path and method alone (the default): one operation per route;
- by a body field (``"select": {"field": "Action", "value": "RemoveBackground"}``): the
  request's JSON object names its operation (PICPIK);
- per item (``"in": "items"`` with ``"select"``): the body is a JSON array and each item names
  its own operation (Runware's ``taskType``).

Every operation on one route must be named the same way, by the same field; two operations with
the same key (route, or route + value) fail when the index is built: nothing overwrites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SOURCES = ("query", "body", "mixed", "items")
WEBSOCKET = "WEBSOCKET"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class ContractError(ValueError):
    """``operations.json`` is inconsistent (a duplicate key, an unknown source, ...)."""


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    path: str
    methods: tuple[str, ...]
    source: str                       # query | body | mixed | items
    field: str | None = None          # the body/item field that names the operation
    value: str | None = None          # its value for this operation
    public: bool = False              # no authentication (declared by the provider's code)


@dataclass(frozen=True, slots=True)
class Route:
    """Every operation reachable at one ``(path, method)`` and how a request picks one."""

    path: str
    method: str
    style: Literal["plain", "field", "items"]
    field: str | None
    operations: dict[str, Operation] = field(default_factory=dict)  # by value ("" for plain)


def _operation(provider: str, name: str, meta: dict[str, Any]) -> Operation:
    source = meta.get("in")
    if source not in SOURCES:
        raise ContractError(f"{provider}/{name}: \"in\" must be one of {', '.join(SOURCES)}")
    methods = tuple(meta.get("methods") or [meta.get("method")])
    for method in methods:
        if method not in (*HTTP_METHODS, WEBSOCKET):
            raise ContractError(f"{provider}/{name}: unknown method {method!r}")
    path = meta.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ContractError(f"{provider}/{name}: path must start with '/'")
    select = meta.get("select")
    if select is None:
        if source == "items":
            raise ContractError(f"{provider}/{name}: \"in\": \"items\" needs \"select\"")
        return Operation(name, path, methods, source)
    if not (isinstance(select, dict) and isinstance(select.get("field"), str)
            and isinstance(select.get("value"), str)):
        raise ContractError(f"{provider}/{name}: \"select\" needs a string field and value")
    if source not in ("body", "items"):
        raise ContractError(f"{provider}/{name}: \"select\" reads a JSON body (\"in\": "
                            f"\"body\" or \"items\")")
    return Operation(name, path, methods, source, select["field"], select["value"])


def routes(provider: str, operations: dict[str, Any]) -> dict[tuple[str, str], Route]:
    """``(path, method) -> Route`` for an ``operations.json`` ``operations`` object; raises
    :class:`ContractError` naming both operations when two share a key."""
    found: dict[tuple[str, str], Route] = {}
    for name, meta in operations.items():
        op = _operation(provider, name, meta)
        style = "plain" if op.field is None else ("items" if op.source == "items" else "field")
        for method in op.methods:
            route = found.setdefault((op.path, method),
                                     Route(op.path, method, style, op.field))  # type: ignore[arg-type]
            if route.style != style or route.field != op.field:
                other = next(iter(route.operations.values())).name
                raise ContractError(
                    f"{provider}: {method} {op.path}: {name!r} and {other!r} name their "
                    f"operation differently (one route, one way to name)")
            value = op.value or ""
            if value in route.operations:
                other = route.operations[value].name
                what = f" {op.field}={value!r}" if op.field else ""
                raise ContractError(f"{provider}: duplicate operation key {method} {op.path}"
                                    f"{what}: {other!r} and {name!r}")
            route.operations[value] = op
    return found
