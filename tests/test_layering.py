"""The layering the design asks for: core imports no provider, no provider imports another."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "mock_server"
PROVIDERS = sorted(p.name for p in (SERVER / "providers").iterdir()
                   if (p / "__init__.py").is_file())


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (TYPE_CHECKING and function bodies too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_core_imports_no_provider() -> None:
    for path in (SERVER / "core").rglob("*.py"):
        bad = {n for n in imported(path) if n.startswith("bgmock.server.providers")}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_no_provider_imports_another() -> None:
    assert {"topview", "aidge"} <= set(PROVIDERS)
    for provider in PROVIDERS:
        others = tuple(f"bgmock.server.providers.{p}" for p in PROVIDERS if p != provider)
        for path in (SERVER / "providers" / provider).rglob("*.py"):
            bad = {n for n in imported(path) if n.startswith(others)}
            assert not bad, f"{provider}/{path.name} imports {sorted(bad)}"


def test_check_suite_reaches_targets_only_over_http() -> None:
    """bgmock.check (issue 12, D220) imports no provider's code and no server internals but
    the in-process target's ``create_app`` and ``Settings``."""
    allowed = {"bgmock.server.app", "bgmock.server.app.create_app", "bgmock.server.settings",
               "bgmock.server.settings.Settings"}
    for path in (SERVER.parent / "check").rglob("*.py"):
        bad = {n for n in imported(path) if n.startswith("bgmock.server") and n not in allowed}
        assert not bad, f"check/{path.name} imports {sorted(bad)}"
