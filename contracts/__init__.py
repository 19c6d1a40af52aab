"""JSON-Schema contracts derived from the providers' docs: the single source of truth for shapes.

Files: ``contracts/<provider>/<operation>.request.json`` / ``.response.json``, shared
``common.json`` and ``error.response.json``, and ``operations.json`` (method, path and where the
parameters travel; ``answers``: which body shape is which response schema). The mock validates
requests with them, the tests and the clients tell and check answers with
:func:`response_schema` / :func:`check_response`, and :func:`openapi` builds each provider's
OpenAPI 3.1 document from them. ``noise.json`` (not a schema): the drift noise rules of
``bgmock check`` (:mod:`bgmock.check.drift`).
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bgmock.contracts.index import WEBSOCKET, ContractError, Operation, Route
from bgmock.contracts.index import routes as _routes

if TYPE_CHECKING:  # jsonschema costs ~40 ms to import: only on first validation
    from jsonschema import Draft202012Validator, ValidationError
    from referencing import Registry


def __getattr__(name: str) -> Any:
    if name == "ValidationError":
        from jsonschema import ValidationError
        return ValidationError
    raise AttributeError(name)


ROOT = Path(__file__).parent
# A provider's files that are data, not schemas: routes, drift noise rules, replay rules.
DATA_FILES = ("operations.json", "noise.json", "replay.json")
_FOLDERS: dict[str, Path] = {}   # contracts kept outside ROOT (test-only providers)


def register(provider: str, folder: str | Path) -> None:
    """Serve ``provider``'s contracts from ``folder`` (test-only providers keep theirs beside
    their tests). Call before the provider's contracts are first read."""
    _FOLDERS[provider] = Path(folder)


def folder(provider: str) -> Path:
    return _FOLDERS.get(provider) or ROOT / provider

__all__ = ["ContractError", "ContractViolation", "Operation", "Route", "ValidationError",
           "check_response", "errors", "examples", "folder", "load", "names", "openapi",
           "operations", "providers", "register", "response_schema", "routes", "validate",
           "validator"]


class ContractViolation(ValueError):
    def __init__(self, provider: str, name: str, problems: list[ValidationError],
                 detail: str = "") -> None:
        self.problems = problems
        detail = detail or "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in problems[:5])
        super().__init__(f"{provider}/{name}: {detail}")


def providers() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir() if (p / "operations.json").is_file())


@cache
def names(provider: str) -> tuple[str, ...]:
    """Every schema in a provider's folder, without ``.json``."""
    return tuple(sorted(p.stem for p in folder(provider).glob("*.json")
                        if p.name not in DATA_FILES))


@cache
def load(provider: str, name: str) -> dict[str, Any]:
    path = folder(provider) / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no contract {provider}/{name}")
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def operations(provider: str) -> dict[str, Any]:
    return json.loads((folder(provider) / "operations.json").read_text(encoding="utf-8"))


@cache
def routes(provider: str) -> dict[tuple[str, str], Route]:
    """``(path, method) -> Route``: how a request to each route names its operation (D80).
    Raises :class:`ContractError` on a duplicate key."""
    return _routes(provider, operations(provider)["operations"])


@cache
def _registry(provider: str) -> Registry:
    from referencing import Registry, Resource

    resources = [(load(provider, n)["$id"], Resource.from_contents(load(provider, n)))
                 for n in names(provider)]
    return Registry().with_resources(resources)


@cache
def validator(provider: str, name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load(provider, name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry(provider))


def errors(provider: str, name: str, instance: Any) -> list[ValidationError]:
    """Every violation, most general first (shallowest path).

    ``jsonschema`` (pure Python) is the authority and writes the messages; a compiled
    ``jsonschema-rs`` validator of the same schema answers the common case, valid input, first
    (~1 us instead of ~100 us for a submit body, decision D163). Only its "valid" is trusted:
    anything it refuses or cannot read is judged by ``jsonschema``, so the verdict and the
    messages are ``jsonschema``'s whenever they matter (a test checks that the two never
    disagree the other way)."""
    fast = _fast_validator(provider, name)
    if fast is not None:
        with contextlib.suppress(Exception):  # a value it cannot take: jsonschema decides
            if fast.is_valid(instance):
                return []
        # Refused: jsonschema words why. No contract takes more than a few items in a list, so
        # long lists are cut first: jsonschema's `contains` and `items` walk every item, and a
        # client's 200,000-point list took seconds of the event loop (D169).
        clipped = _clip_lists(instance, [CLIP_NODES])
        if clipped is not instance:
            found = _errors(provider, name, clipped)
            if found:
                return found
    return _errors(provider, name, instance)


CLIP_ITEMS = 64          # items kept of each list when refused input is worded
CLIP_NODES = 10_000      # values looked at while cutting; beyond, lists are emptied


def _clip_lists(value: Any, budget: list[int]) -> Any:
    """``value`` with every list cut to :data:`CLIP_ITEMS` + 1 items (still too long for any
    contract's ``maxItems``); the same object when nothing was cut."""
    budget[0] -= 1
    if isinstance(value, list):
        if budget[0] <= 0:
            return [] if value else value
        kept = value[:CLIP_ITEMS + 1]
        items = [_clip_lists(item, budget) for item in kept]
        if len(kept) == len(value) and all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items
    if isinstance(value, dict):
        items = {key: _clip_lists(item, budget) for key, item in value.items()}
        if all(items[key] is item for key, item in value.items()):
            return value
        return items
    return value


@cache
def _fast_validator(provider: str, name: str) -> Any:
    """The compiled validator of ``name`` (None without ``jsonschema-rs``). Formats are
    annotations, as for ``jsonschema`` without a format checker."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a dependency; the pure-Python path still works
        return None
    registry = jsonschema_rs.Registry(
        [(load(provider, n)["$id"], load(provider, n)) for n in names(provider)])
    return jsonschema_rs.validator_for(load(provider, name), registry=registry,
                                       validate_formats=False)


def _errors(provider: str, name: str, instance: Any) -> list[ValidationError]:
    found = list(validator(provider, name).iter_errors(instance))
    return sorted(found, key=lambda e: (len(e.absolute_path), str(e.absolute_path)))


def validate(provider: str, name: str, instance: Any) -> None:
    problems = errors(provider, name, instance)
    if problems:
        raise ContractViolation(provider, name, problems)


# --- answers: which response schema a body falls under ----------------------------------

def _holds(when: dict[str, Any], body: dict[str, Any]) -> bool:
    """``present``: these fields are there; ``equals``: these fields have exactly these JSON
    values (``true`` is not ``1``, ``"200"`` is not ``200``). Both must hold."""
    if not all(field in body for field in when.get("present", ())):
        return False
    return all(field in body and type(body[field]) is type(value) and body[field] == value
               for field, value in when.get("equals", {}).items())


def response_schema(provider: str, operation: str | None, body: Any) -> str | None:
    """The response schema an answer ``body`` falls under, by the first of the provider's
    ``answers`` rules (``operations.json``) that holds; ``{operation}`` in a rule's schema is
    the operation the request named. ``None``: no rule holds, so the body is not one of the
    provider's answers (a proxy's HTML page, the mock's own ``bgmockError``).

    ``KeyError`` for an unknown provider or operation; ``ValueError`` when a rule for the
    operation's own answer holds but ``operation`` is ``None``. Needs no ``jsonschema``.
    """
    index = operations(provider)
    if operation is not None and operation not in index["operations"]:
        raise KeyError(f"{provider} has no operation {operation!r}")
    if not isinstance(body, dict):
        return None
    for rule in index["answers"]:
        if _holds(rule["when"], body):
            if "{operation}" in rule["schema"] and operation is None:
                raise ValueError(f"{provider}: {rule['schema']} needs the operation")
            return rule["schema"].replace("{operation}", operation or "")
    return None


def check_response(provider: str, operation: str | None, body: Any) -> str:
    """Validate an answer ``body`` against the schema :func:`response_schema` picks for it;
    returns that schema's name. :class:`ContractViolation` if no rule holds or the body breaks
    the schema."""
    name = response_schema(provider, operation, body)
    if name is None:
        raise ContractViolation(provider, f"{operation or '*'}: answer", [],
                                f"not an answer of {provider}: {str(body)[:200]}")
    validate(provider, name, body)
    return name


def examples(provider: str) -> Iterator[tuple[str, Any]]:
    for name in names(provider):
        for example in load(provider, name).get("examples", []):
            yield name, example


# --- OpenAPI 3.1 -------------------------------------------------------------------------

def _component(provider: str, ref: str, current: str) -> str:
    """``common.json#/$defs/x`` or ``#/$defs/x`` -> ``#/components/schemas/common.x``."""
    target, _, pointer = ref.partition("#")
    owner = Path(target).stem if target else current
    if not pointer:
        return f"#/components/schemas/{owner}"
    if not pointer.startswith("/$defs/"):
        raise ValueError(f"{provider}/{current}: unsupported $ref {ref!r}")
    return f"#/components/schemas/{owner}.{pointer.removeprefix('/$defs/')}"


def _bundled(provider: str, node: Any, current: str) -> Any:
    if isinstance(node, dict):
        out = {k: _bundled(provider, v, current) for k, v in node.items()
               if k not in ("$id", "$schema", "$defs")}
        if "$ref" in node:
            out["$ref"] = _component(provider, node["$ref"], current)
        return out
    if isinstance(node, list):
        return [_bundled(provider, v, current) for v in node]
    return node


def _parameters(provider: str, schema_name: str, where: str) -> list[dict[str, Any]]:
    """One parameter per property, each with the values the schema's examples give it (so
    tools that start from examples send the docs' own ids)."""
    schema = load(provider, schema_name)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        parameter = {"name": name, "in": where, "required": name in required,
                     "schema": _bundled(provider, prop, schema_name)}
        values: list[Any] = []
        for example in schema.get("examples", []):
            if name in example and example[name] not in values:
                values.append(example[name])
        if values:
            parameter["examples"] = {f"{name}{i}": {"value": value}
                                     for i, value in enumerate(values, 1)}
        parameters.append(parameter)
    return parameters


def _operation_id(name: str, op: dict[str, Any], method: str) -> str:
    return name if "methods" not in op else f"{name}_{method.lower()}"


def _links(provider: str, name: str, op: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI links from this operation's answer to the next call (a stateful run follows
    them). In ``operations.json`` a link names its target operation; here it gets that
    operation's OpenAPI ``operationId``."""
    document = operations(provider)
    index = document["operations"]
    declared = dict(op.get("links", {}))
    query = f"{name.removesuffix('_submit')}_query"
    task_link = document.get("taskLink")
    if (task_link and name.endswith("_submit") and query in index
            and all(link["operationId"] != query for link in declared.values())):
        # D125: every <x>_submit links to its <x>_query, with the provider's taskId pointer.
        declared["QueryTask"] = {"operationId": query,
                                 "parameters": task_link["parameters"],
                                 "description": "Poll the task this submit accepted."}
    links = {}
    for link_name, link in declared.items():
        target = index.get(link["operationId"])
        if target is None or "methods" in target:
            raise ValueError(f"{provider}/{name}: link {link_name!r} needs a one-method "
                             f"operation, not {link['operationId']!r}")
        links[link_name] = {**link, "operationId": _operation_id(link["operationId"], target,
                                                                 target["method"])}
    return links


def _operation(provider: str, name: str, op: dict[str, Any], method: str,
               errors: list[str]) -> dict[str, Any]:
    request = load(provider, f"{name}.request")
    answers = [f"{name}.response", *errors]
    operation: dict[str, Any] = {
        "operationId": _operation_id(name, op, method),
        "summary": op.get("summary", ""),
        "description": request.get("description", ""),
        "responses": {"200": {
            "description": "Success or a provider error (all are HTTP 200)",
            "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": f"#/components/schemas/{a}"} for a in answers]}}},
        }},
    }
    statuses = operations(provider).get("errorStatuses", {})
    if statuses:  # a provider whose errors have HTTP statuses of their own (Runware, R9)
        operation["responses"]["200"]["description"] = "Success (some tasks may have failed)"
        for status, description in statuses.items():
            operation["responses"][status] = {"description": description, "content": {
                "application/json": {"schema": {"oneOf": [
                    {"$ref": f"#/components/schemas/{e}"} for e in errors]}}}}
    links = _links(provider, name, op)
    if links:
        operation["responses"]["200"]["links"] = links
    parameters = []
    if op.get("system"):
        parameters += _parameters(provider, op["system"], "query")
    if op.get("headers"):
        parameters += _parameters(provider, op["headers"], "header")
    in_query = op["in"] == "query" or (op["in"] == "mixed" and method == "GET")
    if in_query:
        parameters += _parameters(provider, f"{name}.request", "query")
    else:
        body: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{name}.request"}}
        if op["in"] == "items":  # a JSON array; each item names its own operation
            body = {"schema": {"type": "array", "items": body["schema"]}}
        content = {"application/json": body}
        if op["in"] == "mixed":
            content["application/x-www-form-urlencoded"] = body
        operation["requestBody"] = {"required": True, "content": content}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _merged(first: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Operations named by a body field or per item share one path and method: one OpenAPI
    operation whose body and answer are any of theirs. A JSON array of items (Runware) is one
    array whose items are any operation's; answers may share shapes (``{"data": []}``), so
    they are ``anyOf``."""
    def one_of(schema: dict[str, Any]) -> list[Any]:
        return schema["oneOf"] if set(schema) == {"oneOf"} else [schema]

    def alternatives(schema: dict[str, Any]) -> list[Any]:
        return next((schema[k] for k in ("oneOf", "anyOf") if set(schema) == {k}), [schema])

    merged = {**first, "operationId": f"{first['operationId']}_{other['operationId']}",
              "summary": " / ".join(filter(None, (first.get("summary"),
                                                  other.get("summary"))))}
    for where in ("requestBody",):
        if where in first and where in other:
            body = first[where]["content"]["application/json"]["schema"]
            more = other[where]["content"]["application/json"]["schema"]
            if body.get("type") == "array" and more.get("type") == "array":
                schema = {"type": "array", "items": {
                    "oneOf": one_of(body["items"]) + one_of(more["items"])}}
            else:
                schema = {"oneOf": one_of(body) + one_of(more)}
            merged[where] = {**first[where], "content": {"application/json": {"schema": schema}}}
    answers = alternatives(first["responses"]["200"]["content"]["application/json"]["schema"])
    extra = alternatives(other["responses"]["200"]["content"]["application/json"]["schema"])
    merged["responses"] = {**first["responses"], "200": {**first["responses"]["200"], "content": {
        "application/json": {"schema": {"anyOf": answers + [a for a in extra
                                                            if a not in answers]}}}}}
    return merged


def _discriminate(operation: dict[str, Any], route: Route) -> None:
    """Operations named by a body field (PICPIK's ``Action``): the body's ``oneOf`` gets an
    OpenAPI discriminator on that field, mapping each value to its request schema (D181)."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    schema["discriminator"] = {
        "propertyName": route.field,
        "mapping": {value: f"#/components/schemas/{op.name}.request"
                    for value, op in route.operations.items()}}


@cache
def _openapi(provider: str) -> dict[str, Any]:
    index = operations(provider)
    schemas: dict[str, Any] = {}
    for name in names(provider):
        schema = load(provider, name)
        for def_name, definition in schema.get("$defs", {}).items():
            schemas[f"{name}.{def_name}"] = _bundled(provider, definition, name)
        if name != "common":
            schemas[name] = _bundled(provider, schema, name)
    errors = index.get("errors", ["error.response"])
    paths: dict[str, Any] = {}
    for op_name, op in index["operations"].items():
        for method in op.get("methods", [op.get("method")]):
            if method == WEBSOCKET:  # not an HTTP operation: OpenAPI cannot say it
                continue
            document = _operation(provider, op_name, op, method, errors)
            shared = paths.setdefault(op["path"], {}).get(method.lower())
            paths[op["path"]][method.lower()] = (document if shared is None
                                                 else _merged(shared, document))
    for (path, method), route in routes(provider).items():
        if route.style == "field" and len(route.operations) > 1:
            _discriminate(paths[path][method.lower()], route)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": index["title"], "version": index["version"],
                 "description": index.get("description", "")},
        # The mock's own prefix first, relative to where the document is served, then the
        # real hosts: Schemathesis and Prism reach the mock without being told a URL (D70).
        "servers": [s if isinstance(s, dict) else {"url": s} for s in index.get("servers", [])],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": index.get("securitySchemes", {})},
        **({"security": index["security"]} if "security" in index else {}),
    }


def openapi(provider: str) -> dict[str, Any]:
    """The provider's OpenAPI 3.1 document, built from its contracts (a fresh copy)."""
    return copy.deepcopy(_openapi(provider))
