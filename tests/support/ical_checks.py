"""Validate generated iCalendar bytes the way real clients would, with several independent parsers.

Each parser misses different defects, so every feed, download and invite in the suite goes through
all of them:

* **libical** (what Evolution and many servers use), through GObject introspection (Debian
  ``gir1.2-ical-3.0`` + PyGObject): parse, ``check_restrictions()`` for RFC 5546's per-METHOD
  rules, and no ``X-LIC-ERROR`` anywhere.
* the **ical** package: strict value and time-zone parsing.
* **vobject** with ``validate=True``: missing UID / DTSTAMP / PRODID and friends.
* **icalendar**'s own ``get_missing_tzids()``.
* every VTIMEZONE against ``zoneinfo``: no COMMENT on VTIMEZONE itself (libical rejects it), and
  each observance's DTSTART/RDATE minus TZOFFSETFROM is exactly an instant at which the zone
  changes from TZOFFSETFROM to TZOFFSETTO (RFC 5545 §3.6.5: onsets are local in the *old* offset).
* byte-level rules no parser enforces: CRLF only, 75-octet folding that never splits a UTF-8
  sequence, no ``TZID`` on a UTC value, a VTIMEZONE for every TZID, DTSTART + DTEND (no DURATION).

In CI (``CI=true`` or ``VISITDESK_REQUIRE_SERVICES=1``) missing libical is an error: .ci/run installs
it (Debian packages gir1.2-ical-3.0, libgirepository1.0-dev, libcairo2-dev, pkg-config; then
``pip install "PyGObject<3.51"``, which ``make install`` does when those are present). On a bare
developer machine the other parsers still run and the session summary says libical was not used.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from datetime import UTC, datetime, timedelta

import icalendar
import vobject
from ical.calendar_stream import IcsCalendarStream

try:
    import gi

    gi.require_version("ICalGLib", "3.0")
    from gi.repository import ICalGLib
except (ImportError, ValueError):  # PyGObject or the ICalGLib typelib is not installed
    ICalGLib = None

LIBICAL_REQUIRED = os.environ.get("CI") == "true" or os.environ.get("VISITDESK_REQUIRE_SERVICES") == "1"
#: How many calendars were checked without libical (reported in the session summary).
libical_missed = 0

_UTC_DATETIME = re.compile(r"^\d{8}T\d{6}Z$")


def _unfold(data: bytes) -> list[str]:
    text = data.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "")
    return [line for line in text.split("\r\n") if line]


def _split_line(line: str) -> tuple[str, dict[str, str], str]:
    """(NAME, {PARAM: value}, value) of an unfolded content line; quoted parameter values may hold ':'."""
    in_quotes = False
    for index, char in enumerate(line):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            head, value = line[:index], line[index + 1:]
            break
    else:
        raise AssertionError(f"content line without ':' {line!r}")
    name, *raw_params = re.split(r';(?=(?:[^"]*"[^"]*")*[^"]*$)', head)
    params = {}
    for raw in raw_params:
        key, _, val = raw.partition("=")
        params[key.upper()] = val.strip('"')
    return name.upper(), params, value


def check_bytes(data: bytes, *, method: str | None = None, expect_tzids=None) -> None:
    assert data.startswith(b"BEGIN:VCALENDAR\r\n"), data[:40]
    assert data.endswith(b"END:VCALENDAR\r\n"), data[-40:]
    without_crlf = data.replace(b"\r\n", b"")
    assert b"\r" not in without_crlf and b"\n" not in without_crlf, "bare CR or LF: only CRLF may end a line"
    for number, physical in enumerate(data.split(b"\r\n")[:-1], start=1):
        assert len(physical) <= 75, f"line {number} is {len(physical)} octets (max 75): {physical[:80]!r}"
        try:
            physical.decode("utf-8")
        except UnicodeDecodeError as exc:  # folding split a multi-byte character
            raise AssertionError(f"line {number} is not UTF-8 on its own: {physical!r}") from exc

    lines = _unfold(data)
    used_tzids: set[str] = set()
    defined_tzids: set[str] = set()
    stack: list[str] = []
    event_props: list[set[str]] = []
    methods = []
    props_seen: set[str] = set()
    for line in lines:
        name, params, value = _split_line(line)
        props_seen.add(name)
        if name == "BEGIN":
            stack.append(value.upper())
            if value.upper() == "VEVENT":
                event_props.append(set())
            continue
        if name == "END":
            assert stack and stack[-1] == value.upper(), f"END:{value} does not close {stack}"
            stack.pop()
            continue
        if stack and stack[-1] == "VEVENT":
            event_props[-1].add(name)
        if name == "METHOD" and stack == ["VCALENDAR"]:
            methods.append(value)
        if name == "TZID" and stack and stack[-1] == "VTIMEZONE":
            defined_tzids.add(value)
        if "TZID" in params:
            used_tzids.add(params["TZID"])
            assert not _UTC_DATETIME.match(value), f"TZID on a UTC value: {line!r}"
            assert not params["TZID"].upper().startswith(("GMT", "UTC", "ETC/")), f"not an IANA zone: {line!r}"
    assert not stack, f"unclosed components {stack}"
    assert "VERSION" in props_seen and "PRODID" in props_seen
    assert used_tzids <= defined_tzids, f"TZIDs without VTIMEZONE: {used_tzids - defined_tzids}"
    if expect_tzids is not None:
        assert used_tzids == set(expect_tzids), f"TZIDs {used_tzids} != expected {set(expect_tzids)}"
    # A DECLINECOUNTER names an event, it does not describe one (RFC 5546 §3.2.8): no times.
    described = ("UID", "DTSTAMP") if method == "DECLINECOUNTER" else ("UID", "DTSTAMP", "DTSTART", "DTEND")
    for props in event_props:
        for required in described:
            assert required in props, f"VEVENT without {required}"
        assert "DURATION" not in props, "VEVENT with DURATION: use DTSTART + DTEND"
    if method is None:
        assert not methods, f"a feed carries no METHOD, found {methods}"
    else:
        assert methods == [method], f"METHOD {methods} != {method}"
        if method.upper() == "PUBLISH":
            # RFC 5546 §3.2.1: PUBLISH may carry many events; each names its ORGANIZER and no ATTENDEE.
            assert event_props, "a PUBLISH carries at least one VEVENT"
            for props in event_props:
                assert "ORGANIZER" in props and "ATTENDEE" not in props, f"PUBLISH VEVENT with {sorted(props)}"
        else:
            assert len(event_props) == 1, "an iTIP message carries exactly one VEVENT"


def check_libical(data: bytes, *, method: str | None = None) -> None:
    global libical_missed
    if ICalGLib is None:
        assert not LIBICAL_REQUIRED, "libical (ICalGLib) is not installed: see .ci/run for the packages"
        libical_missed += 1
        return
    comp = ICalGLib.Parser.parse_string(data.decode("utf-8"))
    assert comp is not None, "libical could not parse the calendar"
    assert comp.isa() == ICalGLib.ComponentKind.VCALENDAR_COMPONENT
    if method is not None:
        comp.check_restrictions()
    errors = []

    def walk(component) -> None:
        prop = component.get_first_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
        while prop is not None:
            errors.append(f"{component.isa().value_nick if hasattr(component.isa(), 'value_nick') else component.isa()}: "
                          f"{prop.as_ical_string().strip()}")
            prop = component.get_next_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
        child = component.get_first_component(ICalGLib.ComponentKind.ANY_COMPONENT)
        while child is not None:
            walk(child)
            child = component.get_next_component(ICalGLib.ComponentKind.ANY_COMPONENT)

    walk(comp)
    assert not errors, "libical reports:\n" + "\n".join(errors)


def check_ical_package(data: bytes) -> None:
    calendar = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    assert calendar is not None


def check_vobject(data: bytes) -> None:
    parsed = list(vobject.readComponents(data.decode("utf-8"), validate=True))
    assert len(parsed) == 1, "exactly one VCALENDAR"
    parsed[0].serialize(validate=True)


def check_icalendar(data: bytes) -> icalendar.Calendar:
    cal = icalendar.Calendar.from_ical(data)
    missing = cal.get_missing_tzids()
    assert not missing, f"icalendar: TZIDs without VTIMEZONE {missing}"
    return cal


def _onsets(observance) -> list[datetime]:
    onsets = [observance.decoded("DTSTART")]
    rdates = observance.get("RDATE", [])
    for rdate in rdates if isinstance(rdates, list) else [rdates]:
        onsets.extend(when.dt for when in rdate.dts)
    return onsets


def check_vtimezones(cal: icalendar.Calendar) -> None:
    for vtz in cal.walk("VTIMEZONE"):
        tzid = str(vtz["TZID"])
        assert "COMMENT" not in vtz, f"COMMENT directly in VTIMEZONE {tzid} (only STANDARD/DAYLIGHT may carry one)"
        zone = zoneinfo.ZoneInfo(tzid)
        for observance in vtz.subcomponents:
            offset_from = observance["TZOFFSETFROM"].td
            offset_to = observance["TZOFFSETTO"].td
            for onset in _onsets(observance):
                assert onset.tzinfo is None, f"{tzid}: observance onset must be local time, got {onset!r}"
                instant = (onset - offset_from).replace(tzinfo=UTC)
                after = instant.astimezone(zone).utcoffset()
                assert after == offset_to, f"{tzid} {observance.name} {onset}: zoneinfo says {after} at {instant}, not {offset_to}"
                if offset_from != offset_to:
                    before = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset()
                    assert before == offset_from, (
                        f"{tzid} {observance.name} onset {onset} − {offset_from} = {instant} is not the instant the "
                        f"zone leaves {offset_from} (it is {before} just before)")


def assert_valid_ical(data: bytes, *, method: str | None = None, expect_tzids=None) -> icalendar.Calendar:
    """Fail unless ``data`` passes every check above; returns the icalendar parse for further asserts."""
    assert isinstance(data, bytes), "calendar objects are bytes on the wire"
    check_bytes(data, method=method, expect_tzids=expect_tzids)
    check_libical(data, method=method)
    check_ical_package(data)
    check_vobject(data)
    cal = check_icalendar(data)
    check_vtimezones(cal)
    return cal
