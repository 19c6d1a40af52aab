"""The curl examples and their responses, read straight from ``../shared/provider-docs``."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bgmock import contracts

DOCS = Path(__file__).resolve().parents[2] / "shared" / "provider-docs"
RESPONSE_MARK = re.compile(r"^\s*(?:•\s*)?response\s*$", re.MULTILINE)


@dataclass(frozen=True)
class DocsExample:
    source: str
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    response: Any

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    def operation(self, provider: str) -> str | None:
        for name, op in contracts.operations(provider)["operations"].items():
            if op["method"] == self.method and op["path"] == self.path:
                return name
        return None

    @property
    def id(self) -> str:
        *_, parent, last = self.path.split("/")
        return f"{self.source[:3]}-{self.method}-{parent}-{last}"


def _parse_curl(command: str) -> tuple[str, str, dict[str, str], Any]:
    tokens = shlex.split(command.replace("\\\n", " "))  # line continuations
    method, url, headers, body = "GET", "", {}, None
    i = 1
    while i < len(tokens):
        token = tokens[i]
        if token == "--request":
            method, url, i = tokens[i + 1], tokens[i + 2], i + 3
            continue
        if token == "--header":
            name, _, value = tokens[i + 1].partition(":")
            headers[name.strip()] = value.strip()
            i += 2
            continue
        if token == "--data-raw":
            body, i = json.loads(tokens[i + 1]), i + 2
            continue
        i += 1
    return method, url, headers, body


def load(filename: str) -> list[DocsExample]:
    text = (DOCS / filename).read_text(encoding="utf-8")
    found = []
    for segment in text.split("curl --location")[1:]:
        mark = RESPONSE_MARK.search(segment)
        if mark is None:
            continue
        method, url, headers, body = _parse_curl("curl --location" + segment[: mark.start()])
        start = segment.index("{", mark.end())
        response, _ = json.JSONDecoder().raw_decode(segment[start:])
        found.append(DocsExample(filename, method, url, headers, body, response))
    return found
