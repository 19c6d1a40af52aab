"""Fault injection: the ``X-Mock-Fault`` header and admin fault rules.

Syntax (both places): directives joined by ``;``::

    error=<provider code>      answer with that provider error, exactly as the provider would
    fail[=<message>]           accept the task, then end it failed
    fail_at=<state>            ... after it has reached this pending state (default: the last)
    stuck[=<state>]            accept the task and never let it leave this state (default: last)
    polls=<n>                  finish on the n-th poll
    duration=<seconds>         total task time (provider seconds, divided by --speed)
    delay=<seconds>            answer latency (wall-clock seconds)
    delay=<low>..<high>        ... drawn uniformly between the bounds for each request
    probability=<p>            the fault applies to a request with probability p (0..1)
    webhook=drop               the task's callback is never sent (journaled as dropped)
    webhook=duplicate          ... is sent twice
    webhook=delay=<seconds>    ... starts this many mock seconds late (divided by --speed)
    webhook=fail               ... its first attempt counts as failed (not sent); retries follow
    drop                       WebSocket: answer, then drop the socket abnormally (the answer is
                               kept for a resume); no effect over HTTP

Task directives act on submit operations; ``error`` and ``delay`` act on any operation. A rule
matches by provider, operation (``*`` for all) and optionally account key and ``match`` (fields
of the operation's input with these exact string values: one item of a JSON array for Runware,
e.g. its ``taskUUID``), for ``count`` requests (or forever); the first matching rule that fires
supplies the fault, and the header's directives override it. Draws (probability, delay) come
from generators seeded by the mock's seed, one per rule and one for the header, so a seeded run
repeats exactly.

Every number is finite and ranged, checked here before anything is stored (decision D60).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field, fields, replace
from typing import Any

from bgmock.server.core.plan import Lifecycle, TaskPlan


class FaultSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Fault(TaskPlan):
    """A plan's task directives (``TaskPlan``) plus those that shape one request."""

    error: str | None = None
    delay: float = 0.0
    delay_max: float | None = None     # with ``delay``: a uniform range ``delay..delay_max``
    probability: float = 1.0
    webhook: str | None = None         # drop | duplicate | delay | fail (core.webhooks, D113)
    webhook_delay: float = 0.0         # with ``webhook=delay=<s>``: mock seconds
    drop: bool = False                 # drop the WebSocket after answering (D204)

    def merged(self, override: Fault) -> Fault:
        """This fault with every directive ``override`` sets taken from it."""
        default = Fault()
        changes = {f.name: getattr(override, f.name) for f in fields(Fault)
                   if getattr(override, f.name) != getattr(default, f.name)}
        return replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        """No directive that does anything (a probability alone is not a fault)."""
        return replace(self, probability=1.0) == NO_FAULT

    def plan(self, lifecycle: Lifecycle) -> TaskPlan:
        """The task plan this fault gives a task of ``lifecycle`` (``ValueError`` if unfit)."""
        return self.resolved(lifecycle)

    def describe(self) -> str:
        if self is NO_FAULT or self == NO_FAULT:  # nearly every request: no per-field walk
            return ""
        return ";".join(_render(name, getattr(self, name), self) for name in DESCRIBED
                        if (getattr(self, name) != getattr(NO_FAULT, name)
                            or (name == "delay" and self.delay_max is not None)))

    def fires(self, rng: random.Random) -> bool:
        """Whether this fault applies to one request (a draw only when it is uncertain)."""
        return self.probability >= 1.0 or rng.random() < self.probability

    def drawn(self, rng: random.Random) -> Fault:
        """This fault as applied to one request: the latency drawn, the probability spent."""
        if self.delay_max is None and self.probability == 1.0:
            return self
        delay = self.delay if self.delay_max is None else rng.uniform(self.delay, self.delay_max)
        return replace(self, delay=round(delay, 6), delay_max=None, probability=1.0)


# The directives ``describe`` writes, in this order (messages and states stay out of it).
DESCRIBED = ("error", "fail", "fail_at", "stuck", "polls", "duration", "delay", "probability",
             "webhook", "drop")
NO_FAULT = Fault()


def _render(name: str, value: Any, fault: Fault) -> str:
    if name == "fail":
        return "fail"
    if name == "stuck":
        return "stuck"
    if name == "drop":
        return "drop"
    if name == "delay" and fault.delay_max is not None:
        return f"delay={value}..{fault.delay_max}"
    if name == "webhook" and value == "delay":
        return f"webhook=delay={fault.webhook_delay}"
    return f"{name}={value}"


# Ranges of every number a fault may carry (D60): a fault can slow or shape a request, never
# hold it for ever or keep a task alive past any test session.
MAX_DELAY = 60.0                 # seconds of wall-clock latency per request
MAX_DURATION = 30 * 86400.0      # seconds of task time
MAX_POLLS = 10**6
MAX_TEXT = 200                   # characters of an error code, state or failure message
MAX_WEBHOOK_DELAY = 86400.0      # mock seconds a callback may be held back
WEBHOOK_MODES = ("drop", "duplicate", "fail")
RANGES: dict[str, tuple[float, float]] = {
    "delay": (0.0, MAX_DELAY), "duration": (0.0, MAX_DURATION),
    "polls": (1, MAX_POLLS), "probability": (0.0, 1.0),
    "webhook=delay": (0.0, MAX_WEBHOOK_DELAY),
}


def _short(value: str) -> str:
    """At most 20 characters of ``value``, anything not printable ASCII as ``?`` (its repr
    would otherwise grow up to tenfold: ``\\U000111f5``)."""
    shown = "".join(c if c.isascii() and c.isprintable() else "?" for c in value[:20])
    return shown if len(value) <= 20 else shown + "..."


def _number(name: str, value: str | None, kind: type) -> Any:
    if value is None:
        raise FaultSyntaxError(f"{name} needs a value")
    low, high = RANGES[name]
    try:
        number = kind(value) if len(value) <= 40 else None
    except ValueError:
        number = None
    if number is None:
        raise FaultSyntaxError(f"{name}={_short(value)!r} is not a number")
    if not (math.isfinite(number) and low <= number <= high):
        raise FaultSyntaxError(f"{name}={_short(value)!r} is out of range ({low:g}..{high:g})")
    return number


def _text(name: str, value: str) -> str:
    if len(value) > MAX_TEXT:
        raise FaultSyntaxError(f"{name} is longer than {MAX_TEXT} characters")
    return value


def _delay(value: str | None) -> dict[str, float | None]:
    """``0.2`` or a uniform range ``0.05..0.5``."""
    if value is not None and ".." in value:
        low_text, _, high_text = value.partition("..")
        low, high = _number("delay", low_text.strip(), float), _number(
            "delay", high_text.strip(), float)
        if low > high:
            raise FaultSyntaxError(f"delay={_short(value)!r}: the low bound is above the high")
        return {"delay": low, "delay_max": high}
    return {"delay": _number("delay", value, float), "delay_max": None}


def _webhook(value: str | None) -> dict[str, Any]:
    """``drop``, ``duplicate``, ``fail`` or ``delay=<seconds>``."""
    mode, _, raw = (value or "").partition("=")
    mode = mode.strip().lower()
    if mode == "delay":
        return {"webhook": "delay",
                "webhook_delay": _number("webhook=delay",
                                         raw.strip() if "=" in (value or "") else None, float)}
    if mode in WEBHOOK_MODES and not raw:
        return {"webhook": mode, "webhook_delay": 0.0}
    raise FaultSyntaxError(f"webhook={_short(value or '')!r}: one of drop, duplicate, fail, "
                           "delay=<seconds>")


def parse(text: str) -> Fault:
    """Parse ``error=4100;delay=0.2``; raises :class:`FaultSyntaxError`."""
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, raw = part.partition("=")
        name, value = name.strip().lower(), (raw.strip() if "=" in part else None)
        if name in seen:  # which one would count is a guess: say so rather than pick one
            raise FaultSyntaxError(f"{_short(name)!r} given twice")
        seen.add(name)
        if name == "error":
            if not value:
                raise FaultSyntaxError("error needs a provider code")
            values["error"] = _text(name, value)
        elif name == "fail":
            values["fail"] = True
            values["fail_message"] = _text(name, value) if value else None
        elif name == "fail_at":
            if not value:
                raise FaultSyntaxError("fail_at needs a state")
            values["fail"] = True
            values["fail_at"] = _text(name, value)
        elif name == "stuck":
            values["stuck"] = True
            values["stuck_at"] = _text(name, value) if value else None
        elif name == "polls":
            values["polls"] = _number(name, value, int)
        elif name in ("duration", "probability"):
            values[name] = _number(name, value, float)
        elif name == "delay":
            values.update(_delay(value))
        elif name == "webhook":
            values.update(_webhook(value))
        elif name == "drop":
            if value is not None:
                raise FaultSyntaxError("drop takes no value")
            values["drop"] = True
        else:
            raise FaultSyntaxError(
                f"unknown directive {_short(name)!r} (error, fail, fail_at, stuck, polls, "
                "duration, delay, probability, webhook, drop)")
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
    rng: random.Random = field(default_factory=random.Random, repr=False)
    match: dict[str, str] | None = None   # input fields that must hold these values

    def matches(self, provider: str, operation: str, key: str | None,
                params: Any = None) -> bool:
        return (self.provider == provider and self.operation in ("*", operation)
                and (self.key is None or self.key == key)
                and (self.count is None or self.hits < self.count)
                and (not self.match or _holds(self.match, params)))

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "operation": self.operation,
                "key": self.key, "count": self.count, "hits": self.hits,
                "remaining": None if self.count is None else self.count - self.hits,
                "match": self.match,
                "fault": self.fault.describe(),
                "probability": self.fault.probability,
                "failMessage": self.fault.fail_message}


def _holds(match: dict[str, str], params: Any) -> bool:
    """Every field of ``match`` is in ``params`` (an object) with exactly that string value."""
    return isinstance(params, dict) and all(
        isinstance(params.get(name), str) and params[name] == value
        for name, value in match.items())


class Faults:
    """Fault rules in order, with their seeded generators.

    ``seed``: None draws a fresh generator seed per instance (a new start or reset); a number
    makes every rule's draws repeat from one run to the next. Each rule has its own generator
    (seeded by the mock's seed and the rule id), so adding a rule never shifts another's draws.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._seed = random.SystemRandom().getrandbits(64) if seed is None else seed
        self._header_rng = random.Random(f"bgmock-faults/{self._seed}/header")

    def add(self, provider: str, operation: str, fault: Fault, key: str | None = None,
            count: int | None = None, match: dict[str, str] | None = None) -> FaultRule:
        rule_id = next(self._ids)
        rule = FaultRule(rule_id, provider, operation, fault, key, count,
                         rng=random.Random(f"bgmock-faults/{self._seed}/rule/{rule_id}"),
                         match=dict(match) if match else None)
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def clear(self) -> None:
        self.rules.clear()

    def resolve(self, provider: str, operation: str, key: str | None,
                header: Fault | None, params: Any = None) -> Fault:
        """The fault for one request (``params``: the operation's input): the first matching
        rule that fires (used up by one; a rule that does not fire keeps its count), with the
        header's directives on top."""
        fault = NO_FAULT
        for rule in self.rules:
            if rule.matches(provider, operation, key, params) and rule.fault.fires(rule.rng):
                rule.hits += 1
                fault = rule.fault.drawn(rule.rng)
                break
        if header is not None and header.fires(self._header_rng):
            fault = fault.merged(header.drawn(self._header_rng))
        return fault
