"""An AsyncAPI 3.0 document for a provider's WebSocket operations (Runware), built from the same
contracts as its OpenAPI document: one channel per socket path; a client frame is a JSON array
of any operation's request items, a server frame any operation's answer or the errors."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from bgmock.contracts import WEBSOCKET, _openapi, operations

MOCK_HOST = "127.0.0.1:8080"  # bgmock's default address (C1)


@cache
def _asyncapi(provider: str) -> dict[str, Any] | None:
    index = operations(provider)
    by_path: dict[str, list[str]] = {}
    for name, op in index["operations"].items():
        if WEBSOCKET in op.get("methods", [op.get("method")]):
            by_path.setdefault(op["path"], []).append(name)
    if not by_path:
        return None
    errors = index.get("errors", ["error.response"])
    channels: dict[str, Any] = {}
    actions: dict[str, Any] = {}
    for number, (path, names) in enumerate(by_path.items(), 1):
        channel = f"socket{number}" if len(by_path) > 1 else "socket"
        items = [{"$ref": f"#/components/schemas/{n}.request"} for n in names]
        answers = [{"$ref": f"#/components/schemas/{n}.response"} for n in names]
        answers += [{"$ref": f"#/components/schemas/{e}"} for e in errors]
        channels[channel] = {"address": path, "messages": {
            "tasks": {"name": "tasks", "title": "A client frame: a JSON array of tasks",
                      "payload": {"type": "array", "items": {"oneOf": items}}},
            "answer": {"name": "answer", "title": "A server frame: data and/or errors",
                       "payload": {"anyOf": answers}}}}
        actions[f"{channel}Send"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{channel}"},
            "summary": "Send tasks: " + ", ".join(names),
            "messages": [{"$ref": f"#/channels/{channel}/messages/tasks"}]}
        actions[f"{channel}Receive"] = {
            "action": "receive", "channel": {"$ref": f"#/channels/{channel}"},
            "summary": "Answers, matched to their tasks by taskUUID",
            "messages": [{"$ref": f"#/channels/{channel}/messages/answer"}]}
    servers = {"bgmock": {"host": MOCK_HOST, "pathname": f"/{provider}", "protocol": "ws",
                          "description": "this mock at its default address"}}
    for number, server in enumerate(index.get("socketServers", []), 1):
        servers[f"real{number}"] = dict(server)
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"{index['title']}: WebSocket", "version": index["version"],
                 "description": index.get("description", "")},
        "servers": servers,
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": actions,
        "components": {"schemas": _openapi(provider)["components"]["schemas"]},
    }


def asyncapi(provider: str) -> dict[str, Any] | None:
    """The provider's AsyncAPI 3.0 document (a fresh copy), or None without a WebSocket."""
    found = _asyncapi(provider)
    return copy.deepcopy(found) if found is not None else None
