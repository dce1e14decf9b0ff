"""The apps depend on each other one way only: a lower app never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "directory", "events", "availability", "visits", "calendars", "scheduling", "notifications"]
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


# --- dependencies that hide outside the import graph -------------------------------------------

#: Domain apps: they hold the rules; interfaces (api, web, and each app's admin modules) sit on top.
DOMAIN = [app for app in LAYERS if app != "core"] + ["core"]


def _is_admin_module(path: Path) -> bool:
    """``admin.py`` and ``admin_*.py`` are the admin interface living inside an app (see architecture.md)."""
    return path.stem == "admin" or path.stem.startswith("admin_")


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("app", DOMAIN)
def test_domain_apps_do_not_import_drf(app):
    """DRF is the API's business; throttles live in ``core.throttle``, the API token in ``core.auth``."""
    offenders = [str(p.relative_to(ROOT)) for p in _sources(app)
                 if _top_level_imports(p) & {"rest_framework", "drf_spectacular", "django_filters"}]
    assert offenders == []


def _interface_url_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value.startswith(("web:", "admin:"))]


@pytest.mark.parametrize("app", DOMAIN)
def test_domain_apps_do_not_name_interface_urls(app):
    """A ``web:``/``admin:`` URL name in domain code is a dependency on an interface: ask
    ``core.links.link_for(place, obj)`` instead; the interface registers where the place lives."""
    offenders = {str(p.relative_to(ROOT)): _interface_url_names(p) for p in _sources(app)
                 if not _is_admin_module(p) and _interface_url_names(p)}
    assert offenders == {}


def _admin_registrations(path: Path) -> tuple[list[str], list[str]]:
    """(models registered, models unregistered) by ``@admin.register(X)`` / ``admin.site.(un)register(X)``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    registered, unregistered = [], []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        names = [a.id for a in node.args if isinstance(a, ast.Name)]
        if node.func.attr == "register" and names:
            registered += names[:1] if isinstance(node.func.value, ast.Attribute) else names
        elif node.func.attr == "unregister":
            unregistered += names or ["?"]
    return registered, unregistered


def test_every_model_admin_is_registered_once_and_never_replaced():
    registered: list[str] = []
    unregistered: list[str] = []
    for app in ALL:
        for path in _sources(app):
            r, u = _admin_registrations(path)
            registered += r
            unregistered += u
    assert unregistered == []
    assert sorted(name for name in set(registered) if registered.count(name) > 1) == []
    assert registered.count("Meeting") == 1


def test_admin_registry_holds_one_meeting_admin_from_visits():
    from django.contrib import admin

    from events.models import Meeting

    assert type(admin.site._registry[Meeting]).__module__ == "visits.admin_meetings"


def _functions_defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def test_the_visibility_rule_lives_once_in_a_selector():
    """"Which meetings may participants hear about" is ``visits.selectors.meeting_visible_q``."""
    definers = {str(p.relative_to(ROOT)) for app in ALL for p in _sources(app)
                if _functions_defined(p) & {"meeting_visible_q", "meeting_is_visible", "visible_meeting_ids"}}
    assert definers == {"visits/selectors.py"}
    assigns = [str(p.relative_to(ROOT)) for app in ALL for p in _sources(app)
               if "VISIBLE_VISIT_STATES =" in p.read_text()]
    assert assigns == ["visits/selectors.py"]


def test_overlaps_are_checked_only_by_the_services():
    """Forms and admins ask ``events.services.meeting_overlap_check``; they never query conflicts themselves."""
    users = {str(p.relative_to(ROOT)) for app in ALL for p in _sources(app) if "meeting_conflicts" in _names_used(p)}
    assert users <= {"events/selectors.py", "events/services.py"}


def test_dispatch_reads_only_real_outbox_fields():
    """``compose`` hands ``dispatch`` a value (``Rendered`` with ``Told``), not attributes set on the row."""
    from notifications.models import OutboxMessage

    fields = {f.name for f in OutboxMessage._meta.get_fields()} | {
        getattr(f, "attname", f.name) for f in OutboxMessage._meta.get_fields()} | {"pk"}
    tree = ast.parse((ROOT / "notifications" / "dispatch.py").read_text())
    read = {n.attr for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "row"}
    assert read - fields == set()


def test_the_renderer_neither_queries_nor_stores():
    """``calendars.ical`` turns plain data into bytes; the store (``fragments``) and HTTP (``feeds``) sit beside it."""
    path = ROOT / "calendars" / "ical.py"
    tree = ast.parse(path.read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not {m for m in modules if m.startswith("django.db")} and ".models" not in modules
    assert "MeetingICal" not in names and "objects" not in _names_used(path)


def test_calendar_http_lives_in_calendars():
    """Feeds, free/busy and their URLs are ``calendars``'; no other domain app serves a calendar file."""
    for app in DOMAIN:
        if app == "calendars":
            continue
        assert not (ROOT / app / "feeds.py").exists() and not (ROOT / app / "freebusy.py").exists(), app
        assert not (ROOT / app / "ical.py").exists(), app


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative ones with their leading dots (``.links``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_the_renderer_reads_plain_data_not_models():
    """``calendars.ical`` takes frozen data and returns bytes: no model, no ORM, no Visitdesk app, not even at
    type-checking time, so it cannot reach a row its caller did not copy into ``MeetingData``."""
    imported = _imports(ROOT / "calendars" / "ical.py")
    assert {m for m in imported if m.split(".")[0] in ALL or m.startswith(".")} == set()
    assert {m for m in imported if m.startswith("django.db") or m.split(".")[-1] == "models"} == set()
    assert {m for m in imported if m.startswith("django.")} <= {"django.conf", "django.utils",
                                                                 "django.utils.translation"}


def test_the_renderers_input_is_frozen_and_built_in_one_place():
    import dataclasses

    from calendars import ical

    for cls in (ical.MeetingData, ical.AttendeeData, ical.AgendaItemData, ical.RoomData):
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
    builders = {
        str(path.relative_to(ROOT))
        for app in ALL for path in _sources(app)
        if {"MeetingData", "AttendeeData", "AgendaItemData", "RoomData"} & {
            n.func.id for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    }
    assert builders == {"calendars/snapshot.py"}
