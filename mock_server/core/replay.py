"""``bgmock serve --replay DIR``: recorded answers in front of the providers (D244-D248).

A request that matches a recorded one (same provider and operation(s), same match key:
``bgmock.contracts.recording``) is still run by the mock, so the mock knows its tasks and
charges its credits. When the mock's own answer is of the same kind (HTTP status, contract
schema, the provider's outcome fields) as a recorded one, the recorded answer goes out instead:
its ids mapped to the ids of the mock's own answer, its URLs to ``/files/replay/<sha256>`` (the
recorded download) or to the mock's URL at the same place. Of several recorded answers to one
key, the next one in recorded order goes out (``ReplayState.next``). Everything else is
answered as usual. Generic: no provider is imported.
"""

from __future__ import annotations

import base64
import json
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bgmock.contracts.recording import (
    BLOB,
    FORMAT,
    RecordingError,
    digest,
    is_blob,
    match_key,
    outcome_of,
    parse_body,
    rules,
)
from bgmock.server.core.edge import base_url
from bgmock.server.core.engine import Engine
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from bgmock import contracts

MAX_EXCHANGES = 10_000
MAX_EXCHANGE_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024    # exchanges and blobs together, all read at start
MAX_STATE = 10_000                     # id mappings and answer counters kept (oldest go)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")  # what an id inside a longer text looks like


@dataclass(frozen=True)
class Recorded:
    """One recorded provider answer and the key of the request it answered."""

    index: int                 # its place in the recording
    provider: str
    operations: tuple[str, ...]
    key: str
    kind: str
    status: int
    body: Any


@dataclass(frozen=True)
class Download:
    sha: str
    content_type: str


@dataclass
class Recording:
    """Everything a recording folder holds, read once (bounded) and checked."""

    answers: dict[tuple[str, str], list[Recorded]] = field(default_factory=dict)
    downloads: dict[str, Download] = field(default_factory=dict)   # recorded URL -> blob
    blobs: dict[str, bytes] = field(default_factory=dict)
    order: list[Recorded] = field(default_factory=list)             # in recorded order

    @property
    def providers(self) -> set[str]:
        return {provider for provider, _ in self.answers}

    @classmethod
    def load(cls, folder: str | Path) -> Recording:
        """Raises :class:`RecordingError` (one line) for anything unusable."""
        root = Path(folder)
        if not root.is_dir():
            raise RecordingError(f"{folder}: not a folder")
        try:
            manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RecordingError(f"{folder}: no readable manifest.json ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise RecordingError(f"{folder}: manifest.json: not a bgmock recording "
                                 f"(format {FORMAT})")
        files = sorted((root / "exchanges").glob("*.json"))
        if len(files) > MAX_EXCHANGES:
            raise RecordingError(f"{folder}: more than {MAX_EXCHANGES} exchanges")
        budget = [MAX_TOTAL_BYTES]
        raw = [_read_json(path, budget) for path in files]
        recording = cls()
        for path in sorted((root / "blobs").glob("*")):
            recording.blobs[path.name] = _read_blob(path, budget)
        recording._index(raw, files)
        return recording

    def _index(self, raw: list[Any], files: list[Path]) -> None:
        handed_out: set[str] = set()  # ids the answers so far gave out (in recorded order)
        known = set(contracts.providers())
        for exchange, path in zip(raw, files, strict=True):
            try:
                self._add(exchange, handed_out, known)
            except (KeyError, TypeError, ValueError) as exc:
                raise RecordingError(f"{path}: not a recorded exchange ({exc})") from None
            provider = exchange.get("provider")
            if provider in known:
                _collect_ids(exchange["response"].get("body"), None, rules(provider).mapped,
                             handed_out)

    def _add(self, exchange: dict[str, Any], handed_out: set[str], known: set[str]) -> None:
        response, request = exchange["response"], exchange["request"]
        body = response.get("body")
        for value in _blobs_in(body):
            if value[BLOB] not in self.blobs:
                raise ValueError(f"blob {value[BLOB]} missing from blobs/")
        if is_blob(body) and exchange["method"] in ("GET", "HEAD"):
            self.downloads[_plain_url(exchange["url"])] = Download(
                body[BLOB], str(body.get("content_type") or "application/octet-stream"))
        provider, operations = exchange.get("provider"), exchange.get("operations")
        if provider not in known or not operations:
            return
        operations = tuple(str(name) for name in operations)
        key = match_key(operations, request.get("query") or {}, request.get("body"),
                        rules(provider), lambda v: v if v in handed_out else None)
        status = int(response["status"])
        kind = answer_kind(provider, operations, status, body)
        entry = Recorded(len(self.order), provider, operations, key, kind, status, body)
        self.answers.setdefault((provider, key), []).append(entry)
        self.order.append(entry)


def _read_json(path: Path, budget: list[int]) -> Any:
    size = path.stat().st_size
    if size > MAX_EXCHANGE_BYTES or size > budget[0]:
        raise RecordingError(f"{path}: over the recording's size limits")
    budget[0] -= size
    try:
        value = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise RecordingError(f"{path}: not JSON ({exc})") from None
    if not isinstance(value, dict) or not isinstance(value.get("request"), dict) \
            or not isinstance(value.get("response"), dict):
        raise RecordingError(f"{path}: not a recorded exchange")
    return value


def _read_blob(path: Path, budget: list[int]) -> bytes:
    size = path.stat().st_size
    if size > budget[0]:
        raise RecordingError(f"{path}: over the recording's size limits")
    budget[0] -= size
    data = path.read_bytes()
    if digest(data) != path.name:
        raise RecordingError(f"{path}: content does not match its name (sha256)")
    return data


def _blobs_in(value: Any) -> list[dict[str, Any]]:
    if is_blob(value):
        return [value]
    if isinstance(value, dict):
        return [b for v in value.values() for b in _blobs_in(v)]
    if isinstance(value, list):
        return [b for v in value for b in _blobs_in(v)]
    return []


def _collect_ids(value: Any, name: str | None, ids: frozenset[str], into: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect_ids(item, key, ids, into)
    elif isinstance(value, list):
        for item in value:
            _collect_ids(item, name, ids, into)
    elif isinstance(value, str) and name in ids:
        into.add(value)


def _plain_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def answer_kind(provider: str, operations: tuple[str, ...], status: int, body: Any) -> str:
    """What sort of answer this is: its status, the contract schema it falls under and its
    outcome fields (codes, task states)."""
    operation = operations[0] if len(operations) == 1 else None
    try:
        schema = contracts.response_schema(provider, operation, body)
    except (KeyError, ValueError):
        schema = None
    outcome = outcome_of(body, rules(provider))
    return json.dumps([status, schema, outcome], separators=(",", ":"), default=str)


class Bounded(OrderedDict[str, Any]):
    """A dict that forgets its oldest entries past ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class ReplayState:
    """Id mappings (recorded <-> the mock's, bounded) and how far into the recording the
    replay is: the answer chosen for a request is the first fitting one recorded after the
    last answer given, else the first fitting one (a flow run again starts over), so a run
    that repeats the recorded one gets the recorded answers in their order (D246)."""

    def __init__(self) -> None:
        self.to_mock = Bounded(MAX_STATE)
        self.to_recorded = Bounded(MAX_STATE)
        self.cursor = -1

    def learn(self, recorded: str, mine: str) -> None:
        self.to_mock.put(recorded, mine)
        self.to_recorded.put(mine, recorded)

    def next(self, entries: list[Recorded]) -> Recorded:
        chosen = next((e for e in entries if e.index > self.cursor), entries[0])
        self.cursor = chosen.index
        return chosen


class Captured:
    """An ASGI ``send`` that keeps the mock's answer instead of sending it."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.status = 500
        self.body = b""

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None

    async def forward(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


ProviderCall = Callable[[Scope, Receive, Send, str], Any]


class ReplayingApp:
    """A provider's app with the recording in front of it (same interface as ``ProviderApp``)."""

    def __init__(self, inner: Any, provider: str, engine: Engine,
                 recording: Recording) -> None:
        self.inner, self.provider, self.engine = inner, provider, engine
        self.recording = recording
        self.rules = rules(provider)
        self.routes = contracts.routes(provider)
        self.state = ReplayState()
        # a body read to match it: the providers' own default limit (a longer one passes on)
        self.max_body = engine.settings.max_image_bytes * 2 + 1024 * 1024

    @property
    def frame_limit(self) -> int:
        return int(self.inner.frame_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        route = self.routes.get((path, scope.get("method", "")))
        if scope["type"] != "http" or route is None:
            await self.inner(scope, receive, send, path)
            return
        body, complete = await _read_upto(receive, self.max_body)
        again = _replayed(body, complete, receive)
        headers = Headers(scope=scope)
        value = parse_body(headers.get("content-type", ""), body) if complete else None
        operations = _operations(route, value)
        if not complete or operations is None:
            await self.inner(scope, again, send, path)
            return
        state = self.state
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        key = match_key(operations, query, value, self.rules, state.to_recorded.get)
        candidates = self.recording.answers.get((self.provider, key))
        if not candidates:
            await self.inner(scope, again, send, path)
            return
        captured = Captured()
        await self.inner(scope, again, captured, path)
        mine = captured.json()
        kind = answer_kind(self.provider, operations, captured.status, mine)
        same = [entry for entry in candidates if entry.kind == kind]
        if not same:  # the mock answers otherwise (a refused key, an unknown task): its word
            await captured.forward(send)
            return
        chosen = state.next(same)
        base = base_url(Request(scope), self.engine, headers)
        answer = self._rewrite(chosen.body, mine, base, state)
        data = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        response = Response(data, status_code=chosen.status, media_type="application/json",
                            headers={"X-Bgmock-Replayed": "1"})
        await response(scope, again, send)

    def _rewrite(self, recorded: Any, mine: Any, base: str, state: ReplayState) -> Any:
        _learn(recorded, mine, None, self.rules.mapped, state)
        return self._substitute(recorded, mine, base, state)

    def _substitute(self, value: Any, mine: Any, base: str, state: ReplayState) -> Any:
        if is_blob(value):
            data = self.recording.blobs[value[BLOB]]
            if value.get("encoding") == "base64" or "prefix" in value:
                return str(value.get("prefix", "")) + base64.b64encode(data).decode()
            return value
        if isinstance(value, dict):
            other = mine if isinstance(mine, dict) else {}
            return {k: self._substitute(v, other.get(k), base, state) for k, v in value.items()}
        if isinstance(value, list):
            other = mine if isinstance(mine, list) else []
            return [self._substitute(v, other[i] if i < len(other) else None, base, state)
                    for i, v in enumerate(value)]
        if isinstance(value, str):
            if value in state.to_mock:
                return state.to_mock[value]
            if value.startswith(("http://", "https://")):
                download = self.recording.downloads.get(_plain_url(value))
                if download is not None:  # its query (names kept, secrets redacted) stays
                    query = urlsplit(value).query
                    return f"{base}/files/replay/{download.sha}" + (f"?{query}" if query else "")
                if isinstance(mine, str) and mine.startswith(("http://", "https://")):
                    return mine
            if state.to_mock:  # an id inside a text (a file name): the mock's id there too
                return _TOKEN.sub(lambda m: state.to_mock.get(m.group(0), m.group(0)), value)
        return value


def _learn(recorded: Any, mine: Any, name: str | None, ids: frozenset[str],
           state: ReplayState) -> None:
    """Pair each recorded id with the mock's id at the same place of the mock's answer."""
    if isinstance(recorded, dict) and isinstance(mine, dict):
        for key, value in recorded.items():
            if key in mine:
                _learn(value, mine[key], key, ids, state)
    elif isinstance(recorded, list) and isinstance(mine, list):
        for a, b in zip(recorded, mine, strict=False):
            _learn(a, b, name, ids, state)
    elif isinstance(recorded, str) and isinstance(mine, str) and name in ids:
        state.learn(recorded, mine)


def _operations(route: contracts.Route, value: Any) -> tuple[str, ...] | None:
    if route.style == "plain":
        return tuple(op.name for op in route.operations.values())
    items = [value] if route.style == "field" else value
    if not isinstance(items, list) or not items:
        return None
    names = []
    for item in items:
        chosen = item.get(route.field) if isinstance(item, dict) else None
        op = route.operations.get(chosen) if isinstance(chosen, str) else None
        if op is None:
            return None
        names.append(op.name)
    return tuple(names)


async def _read_upto(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, and whether it is whole (False: over ``limit`` or disconnected; the bytes
    read so far are handed on)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _replayed(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A ``receive`` handing over what was read, then (if more is coming) the rest."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return again


def files_route(recording: Recording) -> Route:
    """``/files/replay/<sha256>``: a recorded download, as recorded."""
    types = {d.sha: d.content_type for d in recording.downloads.values()}

    async def download(request: Request) -> Response:
        sha = request.path_params["sha"]
        data = recording.blobs.get(sha)
        if data is None or sha not in types:
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
                    "<Message>The specified key does not exist.</Message></Error>")
            return Response(body, status_code=404, media_type="application/xml")
        return Response(data, media_type=types[sha])

    return Route("/files/replay/{sha}", download, methods=["GET", "HEAD"])
