"""The apps depend on each other one way only: a lower app never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "directory", "events", "availability", "visits", "calendars", "scheduling", "notifications", "webhooks",
          "history"]
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


# --- one owner for every change to a programme (visits.booking) ---------------------------------

BOOKING = "visits/booking.py"


def _public_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}


def _event_writes() -> set[str]:
    """``events.services``' public functions that write (every one but the ``*_check`` questions)."""
    return {name for name in _public_functions(ROOT / "events" / "services.py") if not name.endswith("_check")}


def _calls_into(source: str, module: str, names: set[str]) -> set[str]:
    """Which of ``names`` in ``module`` the source calls, however it imported them (module alias,
    ``from module import name``, or the module's parent package: ``from events import services as x``)."""
    tree = ast.parse(source)
    package, _, leaf = module.rpartition(".")
    aliases: set[str] = set()
    direct: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update(a.asname or a.name for a in node.names if a.name == module)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module == module:
                direct.update({a.asname or a.name: a.name for a in node.names if a.name in names})
            elif node.module == package:
                aliases.update(a.asname or a.name for a in node.names if a.name == leaf)
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in direct:
            found.add(direct[func.id])
        elif isinstance(func, ast.Attribute) and func.attr in names:
            base = func.value
            dotted = ast.unparse(base)
            if dotted in aliases or dotted == module:
                found.add(func.attr)
    return found


def _callers(module: str, names: set[str], *, allowed: set[str]) -> dict[str, list[str]]:
    out = {}
    for app in ALL:
        for path in _sources(app):
            rel = str(path.relative_to(ROOT))
            if rel in allowed or rel.startswith(f"{module.split('.')[0]}/"):
                continue
            calls = _calls_into(path.read_text(), module, names)
            if calls:
                out[rel] = sorted(calls)
    return out


def test_the_call_finder_sees_every_import_style():
    """The check below is only as good as this finder: each way of reaching a write is caught."""
    writes = {"meeting_create", "meeting_cancel"}
    assert _calls_into("from events import services as ev\nev.meeting_create(title='x')", "events.services",
                       writes) == {"meeting_create"}
    assert _calls_into("from events.services import meeting_cancel as c\nc(meeting=m)", "events.services",
                       writes) == {"meeting_cancel"}
    assert _calls_into("import events.services\nevents.services.meeting_cancel(meeting=m)", "events.services",
                       writes) == {"meeting_cancel"}
    assert _calls_into("from events import services\nservices.meeting_overlap_check()", "events.services",
                       writes) == set()


def test_only_the_booking_module_writes_meetings():
    """Every change to a meeting goes through ``visits.booking``: ``events.services``' writes are called from
    there and from ``events`` itself, nowhere else (API, admin, pages, scheduling, notifications)."""
    writes = _event_writes()
    assert {"meeting_create", "meeting_update", "meeting_cancel", "participants_replace",
            "participant_rsvp", "agenda_replace"} <= writes
    assert _callers("events.services", writes, allowed={BOOKING}) == {}


def test_only_the_booking_module_checks_and_records_availability_of_a_booking():
    """Availability of a booking is checked once, and an override recorded once, in ``visits.booking``."""
    names = {"meeting_availability_check", "meeting_mark_availability"}
    assert _callers("availability.services", names, allowed={BOOKING}) == {}


def _tuple_literals_naming(path: Path, *attrs: str) -> int:
    tree = ast.parse(path.read_text(), filename=str(path))
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.Set, ast.List)):
            named = {e.attr for e in node.elts if isinstance(e, ast.Attribute)}
            if set(attrs) <= named:
                count += 1
    return count


def test_whether_a_programme_is_open_is_stated_once():
    """``visits.booking.programme_is_open`` (over ``OPEN_PROGRAMME_STATES``) is the one answer to "may this
    programme change?"; no module spells the requested-or-confirmed pair itself."""
    spelled = {str(p.relative_to(ROOT)) for app in ALL for p in _sources(app)
               if _tuple_literals_naming(p, "REQUESTED", "CONFIRMED")}
    assert spelled == {BOOKING}
    definers = {str(p.relative_to(ROOT)) for app in ALL for p in _sources(app)
                if _functions_defined(p) & {"programme_is_open", "_check_open_programme", "visit_is_open"}}
    assert definers == {BOOKING}


def test_the_pair_finder_sees_a_spelled_out_rule(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("if visit.status in (Visit.Status.REQUESTED, Visit.Status.CONFIRMED):\n    pass\n")
    assert _tuple_literals_naming(sample, "REQUESTED", "CONFIRMED") == 1


def test_who_blocks_time_is_stated_once():
    """``visits.booking.blocking_people`` says whose time a meeting occupies (chairs, hosts, presenters and the
    delegation); the interfaces and scheduling never filter roles themselves to decide it."""
    definers = {str(p.relative_to(ROOT)) for app in ALL for p in _sources(app)
                if _functions_defined(p) & {"blocking_people", "_blocking_people", "_blocking"}}
    assert definers == {BOOKING}
    users = {str(p.relative_to(ROOT)) for app in ["api", "web", "scheduling"] for p in _sources(app)
             if "BLOCKING_ROLES" in _names_used(p)}
    assert users <= {"web/programme.py"}  # the printed programme lists hosts; it decides no booking


def _catches_zone_errors(path: Path) -> bool:
    return "ZoneInfoNotFoundError" in _names_used(path) or "available_timezones" in _names_used(path)


def test_a_time_zone_is_checked_in_one_place():
    """Which zone names are accepted is ``core.timezones`` (``check_timezone``/``is_timezone_name``), which also
    refuses "Factory" and "localtime"; no other module asks the tz database itself."""
    askers = {str(p.relative_to(ROOT)) for app in ALL for p in _sources(app) if _catches_zone_errors(p)}
    assert askers <= {"core/timezones.py", "events/admin.py"}  # the admin's display falls back to the site zone


def _attributes_set_on_others(source: str) -> list[str]:
    """Every ``x.name = …`` (also in tuple targets, ``+=`` and annotated) whose object is not ``self``, and every
    ``setattr(…)``: the ways a page could stick a value onto a loaded row for its template."""
    found: list[str] = []

    def targets(node: ast.expr) -> list[ast.expr]:
        if isinstance(node, (ast.Tuple, ast.List)):
            return [t for element in node.elts for t in targets(element)]
        return [node.value] if isinstance(node, ast.Starred) else [node]

    for node in ast.walk(ast.parse(source)):
        assigned: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            assigned = [t for target in node.targets for t in targets(target)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            assigned = targets(node.target)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            found.append(ast.unparse(node))
        found += [ast.unparse(t) for t in assigned
                  if isinstance(t, ast.Attribute) and not (isinstance(t.value, ast.Name) and t.value.id == "self")]
    return found


def test_the_attribute_finder_sees_rows_being_decorated():
    """The check below is only as good as this finder: the ways views used to decorate rows are all caught."""
    sample = (
        "for item in items:\n"
        "    item.hosts = [n for n in names]\n"
        "    item.local_start, item.local_end = a, b\n"
        "    m.count += 1\n"
        "    m.mine: object = None\n"
        "    setattr(m, 'mine', None)\n"
        "self.quiet = True\n"
        "context['days'] = days\n"
    )
    assert _attributes_set_on_others(sample) == [
        "item.hosts", "item.local_start", "item.local_end", "m.count", "m.mine", "setattr(m, 'mine', None)"]


def test_pages_hand_templates_view_models_not_decorated_rows():
    """The web pages never set attributes on objects they did not make (ORM rows above all): what a template
    needs beyond a row's fields comes as a plain value or a view-model (``web.proposal.ProposalRow``,
    ``web.programme.Entry``); only a class's own ``self`` is assigned to."""
    offenders = {str(p.relative_to(ROOT)): found for p in _sources("web")
                 if (found := _attributes_set_on_others(p.read_text()))}
    assert offenders == {}


# --- the API: one module per resource on shared bases -------------------------------------------

#: ``api`` modules every resource module may import: the bases, the shapes and what sits below them.
API_SHARED = {"__init__", "apps", "auth", "base", "deadline", "fields", "filters", "models", "pagination", "parsers",
              "programme_check", "root", "serializers", "urls", "v1", "visibility"}


def _api_imports(path: Path) -> set[str]:
    """The ``api`` modules ``path`` imports (``from . import x``, ``from .x import y``, ``import api.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module.split(".")[0]] if node.module else [alias.name for alias in node.names])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("api."):
            found.add((node.module or "").split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("api."))
    return found


def _api_graph(folder: Path) -> dict[str, set[str]]:
    return {p.stem: _api_imports(p) for p in folder.glob("*.py")}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle in ``graph`` (as the path that closes it), or [] when there is none."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [])):
            return found
    return []


def test_api_resources_share_bases_not_each_other():
    """Each resource module (``meetings``, ``visits``, ``proposals``, …) imports the shared bases from ``api.base``
    and the shapes; no resource module imports another, and only ``api/v1.py`` (the one router) knows them all.
    ``api/views.py``, the old home of the bases and half the resources, is gone."""
    graph = _api_graph(ROOT / "api")
    resources = set(graph) - API_SHARED
    offenders = {name: sorted(imports & resources) for name, imports in graph.items()
                 if name != "v1" and imports & resources}
    assert offenders == {}
    assert "views" not in graph
    assert all("base" in graph[name] for name in resources), sorted(r for r in resources if "base" not in graph[r])
    assert graph["v1"] >= resources  # every resource is registered in the one router


def test_api_modules_import_no_circle():
    assert _cycle(_api_graph(ROOT / "api")) == []


def test_the_circle_finder_sees_an_injected_circle(tmp_path):
    (tmp_path / "views.py").write_text("from .availability import AbsenceViewSet\n")
    (tmp_path / "availability.py").write_text("from .views import ApiMixin\n")
    (tmp_path / "base.py").write_text("from . import serializers as s\n")
    assert _cycle(_api_graph(tmp_path)) == ["availability", "views", "availability"]


def test_the_api_sets_no_attributes_on_rows():
    """Like the pages, the API never sticks values onto loaded rows for its answers (serializers read model
    fields, properties and view-models); what it assigns are DRF's own hand-overs: the instance a viewset's
    ``perform_*`` saved and the body the exception handler reshapes."""
    allowed = {"serializer.instance", "response.data"}
    offenders = {str(p.relative_to(ROOT)): rest for p in _sources("api")
                 if (rest := [f for f in _attributes_set_on_others(p.read_text()) if f not in allowed])}
    assert offenders == {}
