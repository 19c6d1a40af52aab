"""Drift: how an observed answer differs from its contract, as typed :class:`Drift` records.

For each answer the provider's ``answers`` rules pick the schema (``contracts.response_schema``)
and the differences are named by kind:

- ``unknown_field``: a field no applicable schema declares (with or without
  ``additionalProperties: false``); ``missing_field``: a required field is absent;
  ``renamed_field``: one of each in the same object (counted once);
- ``type_change``: a JSON type the contract does not allow; ``enum_value``: a value outside
  the contract's ``enum``/``const``; ``error_code``: the provider's code field (``noise.json``
  ``codes``) holds a code the contract does not list; ``constraint``: any other rule broken
  (a pattern, a minimum) on a field that is not noise;
- ``status_code``: an HTTP status the contract does not give that answer;
  ``unknown_answer``: a body that is none of the provider's answers.

Noise rules are data, ``contracts/<provider>/noise.json``: the fields (by name) and paths that
always differ between runs (ids, URLs, signatures, timestamps, request ids) are compared by
shape and type only: their values, patterns, lengths and ranges are never reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from bgmock.check.observe import Exchange

from bgmock import contracts

KINDS = ("unknown_field", "missing_field", "renamed_field", "type_change", "enum_value",
         "error_code", "constraint", "status_code", "unknown_answer")
# What a noise location still reports: its shape and type, never its value
SHAPE_KINDS = frozenset({"unknown_field", "missing_field", "renamed_field", "type_change"})
MAX_DEPTH = 64          # schema/instance depth walked (a hostile answer cannot recurse us away)
MAX_SHOWN = 120         # characters of a value kept in a record
CODE_EXPECTED = "a code the contract lists"


@dataclass(frozen=True, order=True)
class Drift:
    """One difference. ``path``: a JSON pointer into the answer, array indexes as ``*``;
    ``expected``/``actual``: short readable text."""

    kind: str
    provider: str
    operation: str
    path: str
    expected: str
    actual: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Noise:
    """A provider's noise rules and where its error codes live."""

    fields: frozenset[str] = frozenset()
    paths: tuple[re.Pattern[str], ...] = ()
    code_paths: tuple[re.Pattern[str], ...] = ()
    known_codes: frozenset[str] | None = None   # None: the contract's enum says
    code_families: tuple[str, ...] = ()         # "missing" -> missingX is known
    statuses: dict[str, tuple[int, ...]] = field(default_factory=dict)  # error answers' extra

    def is_noise(self, path: str) -> bool:
        names = [p for p in path.split("/") if p and p != "*"]
        if names and names[-1] in self.fields:
            return True
        return any(p.fullmatch(path) for p in self.paths)

    def is_code(self, path: str) -> bool:
        return any(p.fullmatch(path) for p in self.code_paths)

    def code_known(self, code: Any) -> bool:
        text = str(code)
        if self.known_codes is None or text in self.known_codes:
            return True
        return any(text.startswith(f) and text[len(f):][:1].isupper()
                   for f in self.code_families)


def _pointer_pattern(path: str) -> re.Pattern[str]:
    return re.compile("/".join(re.escape(p) if p != "*" else "[^/]+"
                               for p in path.split("/")))


@cache
def noise(provider: str) -> Noise:
    """``contracts/<provider>/noise.json`` (an empty rule set when a provider has none)."""
    path = contracts.folder(provider) / "noise.json"
    if not path.is_file():
        return Noise()
    data = json.loads(path.read_text(encoding="utf-8"))
    codes = data.get("codes", {})
    known = codes.get("known")
    return Noise(fields=frozenset(data.get("fields", [])),
                 paths=tuple(_pointer_pattern(p) for p in data.get("paths", [])),
                 code_paths=tuple(_pointer_pattern(p) for p in codes.get("at", [])),
                 known_codes=None if known is None else frozenset(map(str, known)),
                 code_families=tuple(codes.get("families", [])),
                 statuses={op: tuple(map(int, found))
                           for op, found in data.get("statuses", {}).items()})


# --- the walk ------------------------------------------------------------------------------

def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/*" if isinstance(p, int) else f"/{p}" for p in parts)


class _Walker:
    """Finds the fields of an answer that no applicable schema declares."""

    def __init__(self, provider: str) -> None:
        self.registry = contracts._registry(provider)

    def applicable(self, schema: Any, resolver: Any, depth: int = 0) -> Iterator[tuple[dict, Any]]:
        """``schema`` and every subschema that applies at the same location ($ref, allOf,
        anyOf/oneOf branches, if/then/else), each with its resolver."""
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return
        yield schema, resolver
        if "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            yield from self.applicable(resolved.contents, resolved.resolver, depth + 1)
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                yield from self.applicable(sub, resolver, depth + 1)
        for key in ("then", "else"):
            if key in schema:
                yield from self.applicable(schema[key], resolver, depth + 1)

    def unknown(self, schema: dict, resolver: Any, instance: Any, path: tuple = (),
                depth: int = 0) -> Iterator[tuple[tuple, Any]]:
        """``(path, value)`` of every undeclared field, at any depth."""
        if depth > MAX_DEPTH:
            return
        parts = list(self.applicable(schema, resolver))
        if isinstance(instance, dict):
            children: dict[str, list[tuple[dict, Any]]] = {}
            open_ended = False
            patterns: list[tuple[str, dict, Any]] = []
            for sub, res in parts:
                for name, prop in sub.get("properties", {}).items():
                    children.setdefault(name, []).append((prop, res))
                for pattern, prop in sub.get("patternProperties", {}).items():
                    patterns.append((pattern, prop, res))
                extra = sub.get("additionalProperties", sub.get("unevaluatedProperties"))
                if (isinstance(extra, dict) and extra) or extra is True:
                    open_ended = True
                if sub.get("type") == "object" and "properties" not in sub and not (
                        "additionalProperties" in sub or "unevaluatedProperties" in sub
                        or "$ref" in sub or any(k in sub for k in ("allOf", "anyOf",
                                                                   "oneOf"))):
                    open_ended = True  # a bare {"type": "object"}: any field is declared
            for key, value in instance.items():
                subs = list(children.get(key, []))
                subs += [(p, r) for pat, p, r in patterns if re.search(pat, key)]
                if not subs:
                    if not open_ended:
                        yield (*path, key), value
                    continue
                for sub, res in subs:
                    yield from self.unknown(sub, res, value, (*path, key), depth + 1)
        elif isinstance(instance, list):
            for index, item in enumerate(instance[:256]):
                for sub, res in parts:
                    prefix = sub.get("prefixItems", [])
                    if index < len(prefix):
                        yield from self.unknown(prefix[index], res, item, (*path, index),
                                                depth + 1)
                    elif isinstance(sub.get("items"), dict):
                        yield from self.unknown(sub["items"], res, item, (*path, index),
                                                depth + 1)


@cache
def _walker(provider: str) -> _Walker:
    return _Walker(provider)


def _leaves(error: Any, rules: Noise, make: Any) -> list[Drift]:
    """The drift records a jsonschema error stands for (anyOf/oneOf: the closest branch)."""
    kind_of = error.validator
    path = _pointer(error.absolute_path)
    if kind_of in ("anyOf", "oneOf"):
        if not error.context:
            return []  # oneOf matched twice: the contract is ambiguous, not the answer
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        found = [sorted({d for e in errs for d in _leaves(e, rules, make)})
                 for errs in branches.values()]
        if any(not f for f in found):
            return []
        if all(len(f) == 1 and f[0].kind == "type_change" and f[0].path == found[0][0].path
               for f in found):
            expected = "|".join(sorted({t for f in found for t in f[0].expected.split("|")}))
            return [make("type_change", found[0][0].path, expected, found[0][0].actual)]
        return min(found, key=len)
    if kind_of in ("additionalProperties", "unevaluatedProperties"):
        return []  # the walker names unknown fields, once
    if kind_of == "required":
        return [make("missing_field", f"{path}/{name}", "present", "absent")
                for name in error.validator_value
                if isinstance(error.instance, dict) and name not in error.instance]
    if kind_of == "type":
        expected = error.validator_value
        expected = "|".join(expected) if isinstance(expected, list) else str(expected)
        return [make("type_change", path, expected, _type_name(error.instance))]
    if kind_of in ("enum", "const"):
        allowed = error.validator_value if kind_of == "enum" else [error.validator_value]
        if rules.is_code(path):
            return [make("error_code", path, CODE_EXPECTED, _show(error.instance))]
        return [make("enum_value", path, _show(allowed), _show(error.instance))]
    if kind_of in ("allOf", "not", "if", "then", "else", "contains",
                   "dependentRequired") and error.context:
        return sorted({d for e in error.context for d in _leaves(e, rules, make)})
    return [make("constraint", path, f"{kind_of} {_show(error.validator_value)}",
                 _show(error.instance))]


def answer_drift(provider: str, operation: str, body: Any) -> list[Drift]:
    """Every difference of one answer ``body`` (an operation's) from its contract."""
    rules = noise(provider)

    def make(kind: str, path: str, expected: str, actual: str) -> Drift:
        return Drift(kind, provider, operation, path, expected, actual)

    if _too_deep(body):
        return [make("unknown_answer", "", f"an answer at most {MAX_DEPTH} levels deep",
                     "deeper")]
    try:
        schema_name = contracts.response_schema(provider, operation, body)
    except (KeyError, ValueError):
        schema_name = None
    if schema_name is None:
        return [make("unknown_answer", "", f"one of {provider}'s answers", _show(body))]
    found: set[Drift] = set()
    for error in contracts.errors(provider, schema_name, body):
        found.update(_leaves(error, rules, make))
    schema = contracts.load(provider, schema_name)
    walker = _walker(provider)
    resolver = walker.registry.resolver(base_uri=schema["$id"])
    for parts, value in walker.unknown(schema, resolver, body):
        found.add(make("unknown_field", _pointer(parts), "absent", _show(value)))
    found.update(_code_drift(rules, body, make))
    kept = {d for d in found if d.kind in SHAPE_KINDS or not rules.is_noise(d.path)}
    return sorted(_renames(kept))


def _too_deep(value: Any) -> bool:
    """Deeper than :data:`MAX_DEPTH` (walked without recursion: a hostile answer cannot
    exhaust the stack here or in the validator)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _code_drift(rules: Noise, body: Any, make: Any) -> Iterator[Drift]:
    """Codes the contract cannot list in an enum (PICPIK's RetCode, Runware's code strings):
    checked against ``noise.json`` ``codes.known``."""
    if rules.known_codes is None:
        return
    for path, value in _leaves_of(body):
        if rules.is_code(path) and not rules.code_known(value) and value not in (0, "0"):
            yield make("error_code", path, CODE_EXPECTED, _show(value))


def _leaves_of(value: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves_of(item, f"{path}/{key}", depth + 1)
    elif isinstance(value, list):
        for item in value[:256]:
            yield from _leaves_of(item, f"{path}/*", depth + 1)
    else:
        yield path, value


def _renames(found: set[Drift]) -> set[Drift]:
    """A missing and an unknown field side by side in one object: one ``renamed_field``."""
    def parent(d: Drift) -> str:
        return d.path.rsplit("/", 1)[0]

    out = set(found)
    missing = [d for d in found if d.kind == "missing_field"]
    unknown = [d for d in found if d.kind == "unknown_field"]
    for gone in missing:
        beside = [d for d in unknown if parent(d) == parent(gone) and d in out]
        if len(beside) == 1 and len([m for m in missing if parent(m) == parent(gone)]) == 1:
            new = beside[0]
            out -= {gone, new}
            out.add(Drift("renamed_field", gone.provider, gone.operation, parent(gone),
                          gone.path.rsplit("/", 1)[1], new.path.rsplit("/", 1)[1]))
    return out


def status_drift(provider: str, operation: str, status: int, body: Any) -> list[Drift]:
    """The HTTP status against the contract: every answer 200, except the error answers of a
    provider whose errors have statuses of their own (``errorStatuses``, Runware; plus an
    operation's extra ones from ``noise.json`` ``statuses``)."""
    index = contracts.operations(provider)
    statuses = index.get("errorStatuses")
    errors = set(index.get("errors", ["error.response"]))
    try:
        schema = contracts.response_schema(provider, operation, body)
    except (KeyError, ValueError):
        schema = None
    if statuses and schema in errors:
        allowed = sorted({*(int(s) for s in statuses), *noise(provider).statuses.get(operation,
                                                                                      ())})
    else:
        allowed = [200]
    if status in allowed:
        return []
    return [Drift("status_code", provider, operation, "", "|".join(map(str, allowed)),
                  str(status))]


def exchange_drift(exchange: Exchange) -> list[Drift]:
    """The drift of one observed exchange; nothing for storage calls and for requests that
    named none of the provider's operations."""
    if exchange.storage or not exchange.operations:
        return []
    body = exchange.json()
    candidates = list(dict.fromkeys(exchange.operations))
    best: list[Drift] | None = None
    for operation in candidates:  # one answer for several task types: the closest reading
        found = answer_drift(exchange.provider, operation, body)
        found += status_drift(exchange.provider, operation, exchange.status, body)
        if best is None or len(found) < len(best):
            best = found
        if not found:
            break
    return best or []


@dataclass
class DriftReport:
    """A sink: every exchange's drift, each distinct difference once with a count and the
    checks that saw it."""

    seen: dict[Drift, int] = field(default_factory=dict)
    checks: dict[Drift, list[str]] = field(default_factory=dict)
    current: str = ""   # the check running now (set by the runner)
    answers: int = 0

    def begin(self, check: str) -> None:
        """The runner tells which check the next exchanges are from."""
        self.current = check

    def __call__(self, exchange: Exchange) -> None:
        found = exchange_drift(exchange)
        if exchange.operations and not exchange.storage:
            self.answers += 1
        for drift in found:
            self.seen[drift] = self.seen.get(drift, 0) + 1
            names = self.checks.setdefault(drift, [])
            if self.current and self.current not in names:
                names.append(self.current)

    @property
    def drifts(self) -> list[Drift]:
        return sorted(self.seen)

    def to_json(self) -> list[dict[str, Any]]:
        return [{**d.to_json(), "count": self.seen[d], "checks": self.checks.get(d, [])}
                for d in self.drifts]
