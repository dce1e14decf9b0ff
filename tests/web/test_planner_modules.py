"""The planner's script is native ES modules: their imports must resolve as served in development
(the files themselves) and after ``collectstatic`` in production (hashed names, rewritten imports).

A broken import fails only in a browser and only on the planner page, so it is checked here without one.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "web" / "static"
ENTRY = "web/planner.js"

# A static import at the start of a line, up to its closing quote and whatever follows it on that line.
IMPORT = re.compile(r"""^import\s[^;]*?\sfrom\s*["'](?P<url>[^"']+)["'](?P<rest>[^\n]*)""", re.M)


def imports(text: str) -> list[tuple[str, str]]:
    """(target, what follows the quote) for each static import of a module's source."""
    return [(m["url"], m["rest"]) for m in IMPORT.finditer(text)]


def module_graph() -> dict[str, list[str]]:
    """Static path of each module reachable from the entry -> the static paths it imports."""
    graph: dict[str, list[str]] = {}
    todo = [ENTRY]
    while todo:
        name = todo.pop()
        if name in graph:
            continue
        targets = [posixpath.normpath(posixpath.join(posixpath.dirname(name), url))
                   for url, _ in imports((STATIC / name).read_text())]
        graph[name] = targets
        todo.extend(targets)
    return graph


def cycle_in(graph: dict[str, list[str]]) -> list[str]:
    """One import circle (as a path through the modules), or [] when there is none."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for target in graph.get(node, []):
            if state.get(target) == "open":
                return [*path, node, target]
            if target not in state and (found := visit(target, [*path, node])):
                return found
        state[node] = "done"
        return []

    for node in graph:
        if node not in state and (found := visit(node, [])):
            return found
    return []


def test_every_module_is_imported_by_relative_path_and_exists():
    graph = module_graph()
    for name in graph:
        for url, rest in imports((STATIC / name).read_text()):
            assert url.startswith("./") and url.endswith(".js"), (name, url)
            # Django's manifest storage rewrites `import … from "…";` only with the semicolon
            assert rest.startswith(";"), (name, url, rest)
        for target in graph[name]:
            assert (STATIC / target).is_file(), (name, target)
    on_disk = {str(p.relative_to(STATIC)) for p in (STATIC / "web" / "planner").glob("*.js")}
    assert on_disk and on_disk <= set(graph), on_disk - set(graph)  # no module left out of the page


def test_the_modules_import_each_other_in_one_direction():
    """A circle would make a hashed name depend on itself: collectstatic refuses it."""
    assert cycle_in(module_graph()) == []
    assert cycle_in({"a.js": ["b.js"], "b.js": ["c.js"], "c.js": ["a.js"]}) == ["a.js", "b.js", "c.js", "a.js"]


def test_collectstatic_in_production_points_the_hashed_modules_at_hashed_modules(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VISITDESK_TESTING"))}
    env.update({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-0123",
                "DJANGO_ALLOWED_HOSTS": "visitdesk.example.org", "VISITDESK_VAR_DIR": str(tmp_path)})
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

    static_root = tmp_path / "static"
    hashed = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed_names = set(hashed.values())
    graph = module_graph()
    for name, targets in graph.items():
        assert hashed[name] != name, name
        served = hashed[name]
        found = imports((static_root / served).read_text())
        assert len(found) == len(targets), (served, found)
        for (url, _), target in zip(found, targets, strict=True):
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(served), url))
            assert resolved == hashed[target], (served, url)  # the hashed copy, not the original
            assert resolved in hashed_names and (static_root / resolved).is_file(), (served, url)
