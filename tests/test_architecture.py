"""The apps depend on each other one way only: a lower app never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "directory", "events", "availability", "visits", "scheduling", "notifications"]
INTERFACES = ["api", "web"]
ALL = LAYERS + INTERFACES


def _imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in ALL)
    return found


def _sources(app: str):
    return [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("app", ALL)
def test_app_imports_only_lower_apps(app):
    allowed = set(LAYERS[: LAYERS.index(app) + 1]) if app in LAYERS else set(LAYERS) | {app}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_apps(path) - allowed)
        for path in _sources(app)
        if _imported_apps(path) - allowed
    }
    assert offenders == {}
