"""Fault injection: the ``X-Mock-Fault`` header and admin fault rules.

Syntax (both places): directives joined by ``;``::

    error=<provider code>      answer with that provider error, exactly as the provider would
    fail[=<message>]           accept the task, then end it failed
    fail_at=<state>            ... after it has reached this pending state (default: the last)
    stuck[=<state>]            accept the task and never let it leave this state (default: last)
    polls=<n>                  finish on the n-th poll
    duration=<seconds>         total task time (provider seconds, divided by --speed)
    delay=<seconds>            answer latency (wall-clock seconds)

Task directives act on submit operations; ``error`` and ``delay`` act on any operation. A rule
matches by provider, operation (``*`` for all) and optionally account key, for ``count`` requests
(or forever); the header's directives override a matching rule's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields, replace
from typing import Any

from mock_server.core.tasks import Lifecycle, TaskPlan


class FaultSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Fault:
    error: str | None = None
    fail: bool = False
    fail_message: str | None = None
    fail_at: str | None = None
    stuck: bool = False
    stuck_at: str | None = None
    polls: int | None = None
    duration: float | None = None
    delay: float = 0.0

    def merged(self, override: Fault) -> Fault:
        """This fault with every directive ``override`` sets taken from it."""
        default = Fault()
        changes = {f.name: getattr(override, f.name) for f in fields(Fault)
                   if getattr(override, f.name) != getattr(default, f.name)}
        return replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        return self == Fault()

    def plan(self, lifecycle: Lifecycle) -> TaskPlan:
        last = lifecycle.pending[-1]
        stuck_at = (self.stuck_at or last) if self.stuck else None
        plan = TaskPlan(polls=self.polls, duration=self.duration, fail=self.fail,
                        fail_message=self.fail_message,
                        fail_at=(self.fail_at or last) if self.fail else None,
                        stuck_at=stuck_at)
        plan.check(lifecycle)
        return plan

    def describe(self) -> str:
        if self == NO_FAULT:  # nearly every request: skip the per-field walk
            return ""
        return ";".join(_render(f.name, getattr(self, f.name)) for f in fields(self)
                        if getattr(self, f.name) != getattr(NO_FAULT, f.name)
                        and f.name not in ("fail_message", "stuck_at"))


NO_FAULT = Fault()


def _render(name: str, value: Any) -> str:
    if name == "fail":
        return "fail"
    if name == "stuck":
        return "stuck"
    return f"{name}={value}"


def _number(name: str, value: str | None, kind: type) -> Any:
    if value is None:
        raise FaultSyntaxError(f"{name} needs a value")
    try:
        number = kind(value)
    except ValueError as exc:
        raise FaultSyntaxError(f"{name}={value!r} is not a number") from exc
    if number < 0 or (kind is int and number < 1):
        raise FaultSyntaxError(f"{name}={value!r} is out of range")
    return number


def parse(text: str) -> Fault:
    """Parse ``error=4100;delay=0.2``; raises :class:`FaultSyntaxError`."""
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, raw = part.partition("=")
        name, value = name.strip().lower(), (raw.strip() if "=" in part else None)
        if name == "error":
            if not value:
                raise FaultSyntaxError("error needs a provider code")
            values["error"] = value
        elif name == "fail":
            values["fail"] = True
            values["fail_message"] = value or None
        elif name == "fail_at":
            if not value:
                raise FaultSyntaxError("fail_at needs a state")
            values["fail"] = True
            values["fail_at"] = value
        elif name == "stuck":
            values["stuck"] = True
            values["stuck_at"] = value or None
        elif name == "polls":
            values["polls"] = _number(name, value, int)
        elif name in ("delay", "duration"):
            values[name] = _number(name, value, float)
        else:
            raise FaultSyntaxError(
                f"unknown directive {name!r} (error, fail, fail_at, stuck, polls, duration, delay)")
    return Fault(**values)


@dataclass
class FaultRule:
    id: int
    provider: str
    operation: str
    fault: Fault
    key: str | None = None
    count: int | None = None
    hits: int = 0

    def matches(self, provider: str, operation: str, key: str | None) -> bool:
        return (self.provider == provider and self.operation in ("*", operation)
                and (self.key is None or self.key == key)
                and (self.count is None or self.hits < self.count))

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "operation": self.operation,
                "key": self.key, "count": self.count, "hits": self.hits,
                "remaining": None if self.count is None else self.count - self.hits,
                "fault": self.fault.describe(),
                "failMessage": self.fault.fail_message}


@dataclass
class Faults:
    rules: list[FaultRule] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def add(self, provider: str, operation: str, fault: Fault, key: str | None = None,
            count: int | None = None) -> FaultRule:
        rule = FaultRule(next(self._ids), provider, operation, fault, key, count)
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def clear(self) -> None:
        self.rules.clear()

    def resolve(self, provider: str, operation: str, key: str | None,
                header: Fault | None) -> Fault:
        """The fault for one request: first matching rule (used up by one), header on top."""
        fault = Fault()
        for rule in self.rules:
            if rule.matches(provider, operation, key):
                rule.hits += 1
                fault = rule.fault
                break
        return fault.merged(header) if header is not None else fault
