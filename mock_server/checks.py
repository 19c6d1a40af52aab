"""Checks for values from outside (settings, config records): each takes a value and returns it
(normalised) or raises ``ValueError`` with a short problem. Dependency-free, so a provider's own
settings module (imported while :mod:`bgmock.server.settings` loads) can use them."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

_PLAIN = re.compile(r"[A-Za-z0-9_-]{1,64}")

Check = Callable[[Any], Any]


def plain(name: Any) -> str:
    """A key as it may appear in a one-line message: itself if plain, else quoted and cut."""
    if isinstance(name, str) and _PLAIN.fullmatch(name):
        return name
    return _show(name)


def printable(text: str) -> str:
    """``text`` as is, or quoted when it holds control characters (one line stays one)."""
    return _show(text) if any(ord(c) < 32 or c == "\x7f" for c in text) else text


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def integer(low: int, high: int, optional: bool = False) -> Check:
    def check(value: Any) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {_show(value)}")
        if not low <= value <= high:
            raise ValueError(f"must be in {low}..{high}, got {value}")
        return value
    return check


def number(low: float, high: float, above: bool = False) -> Check:
    """A finite number in ``low..high``; ``above``: strictly greater than ``low``."""
    floor = f"> {low:g}" if above else f">= {low:g}"

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {_show(value)}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        if (value <= low if above else value < low) or value > high:
            raise ValueError(f"must be {floor} and <= {high:g}, got {value:g}")
        return value
    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_show(value)}")
    return value


def choice(*options: str) -> Check:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {_show(value)}")
        return value
    return check


def text(max_length: int = 256, optional: bool = False) -> Check:
    """Non-empty text that encodes as UTF-8 (no lone surrogates), at most ``max_length``."""
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {_show(value)}")
        if not value:
            raise ValueError("must not be empty")
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("is not valid Unicode text") from None
        return value
    return check


def check_record(where: str, record: Mapping[str, Any], checks: Mapping[str, Check],
                 required: tuple[str, ...] = ()) -> dict[str, Any]:
    """One config record (e.g. an account) checked field by field; errors name the field:
    ``accounts.topview[0].credits: expected a number, got 'lots'``."""
    unknown = sorted(set(record) - set(checks), key=str)
    if unknown:
        raise ValueError(f"{where}: unknown field {_show(unknown[0])} "
                         f"(known: {', '.join(checks)})")
    for name in required:
        if name not in record:
            raise ValueError(f"{where}.{name}: required")
    checked = {}
    for name, value in record.items():
        try:
            checked[name] = checks[name](value)
        except ValueError as exc:
            raise ValueError(f"{where}.{name}: {exc}") from None
    return checked


def check_records(where: str, records: list[Mapping[str, Any]], checks: Mapping[str, Check],
                  required: tuple[str, ...], unique: str) -> list[dict[str, Any]]:
    """A config list of records (a provider's accounts), each checked by :func:`check_record`,
    the ``unique`` field appearing once: ``accounts.aidge[1].app_key: '7' appears twice``."""
    checked: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for index, record in enumerate(records):
        at = f"{where}[{index}]"
        values = check_record(at, record, checks, required)
        if values[unique] in seen:
            raise ValueError(f"{at}.{unique}: {values[unique]!r} appears twice")
        seen.add(values[unique])
        checked.append(values)
    return checked
