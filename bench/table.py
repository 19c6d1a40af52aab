"""The benchmark table: one row per target of issue 8, each with its figure, its target and
``met`` / ``MISSED`` beside it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

UNITS = {"x": "{:.2f}", "s": "{:.3f} s", "ms": "{:.2f} ms", "MB": "{:.1f} MB", "/s": "{:.1f}/s"}


@dataclass(frozen=True)
class Row:
    label: str
    value: float | None          # None: not measured (the detail says why)
    unit: str                    # a key of UNITS; "x" is a mock / bare ratio
    target: float
    at_least: bool               # True: value >= target is met; False: value <= target
    detail: str = ""
    also_met: bool = True        # a second condition of the same row (RSS: flat from 50k)
    also: str = ""               # that condition, shown beside the target

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        inside = self.value >= self.target if self.at_least else self.value <= self.target
        return inside and self.also_met

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "not measured"}[self.met]

    def measured(self) -> str:
        return "-" if self.value is None else UNITS[self.unit].format(self.value)

    def wanted(self) -> str:
        text = (">= " if self.at_least else "<= ") + UNITS[self.unit].format(self.target)
        return f"{text}, {self.also}" if self.also else text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"met": self.met}


def format_table(rows: list[Row]) -> str:
    """A fixed-width table, then each row's detail (what was measured, how) under it."""
    head = ("#", "path / figure", "measured", "target", "")
    cells = [(str(i), r.label, r.measured(), r.wanted(), r.verdict)
             for i, r in enumerate(rows, 1)]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cells_row, widths, strict=True)).rstrip()
             for cells_row in [head, *cells]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    details = [f"  {i}. {r.detail}" for i, r in enumerate(rows, 1) if r.detail]
    met = sum(1 for r in rows if r.met)
    return "\n".join([*lines, "", *details, "",
                      f"{met} of {len(rows)} targets met"])
