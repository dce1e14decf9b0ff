"""The rules of a good programme (visits.rules) over hand-made programmes: each rule kept, and broken.

Plain data in, no database: a one-day programme in Berlin that keeps every rule, then one change at
a time that breaks exactly one rule, which the check must name (with the entries involved).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from availability.selectors import Unavailable
from visits import rules
from visits.models import ProgrammeKind
from visits.rules import Entry, Programme, RoomInfo

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2027, 3, 2)  # a Tuesday
DELEGATION = frozenset({1, 2, 3})
COORD, HOST_A, HOST_B, EXPERT = 10, 11, 12, 13
ROOMS = {
    100: RoomInfo(100, "Board room", 14, venue=1),
    101: RoomInfo(101, "Seminar room", 60, venue=1),
    102: RoomInfo(102, "Cafeteria", 120, venue=1, dining=True),
    200: RoomInfo(200, "Lab building room", 10, venue=2),
}
NAMES = {1: "Anna", 2: "Ben", 3: "Cleo", COORD: "Carla", HOST_A: "Dr. Ada Lind", HOST_B: "Dr. Ben Ott",
         EXPERT: "Dr. Eva Roth"}


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN)


def entry(key, kind, start, end, *, room=100, people=(), hosts=(), day=DAY, **more) -> Entry:
    people = tuple(dict.fromkeys((*sorted(DELEGATION), *people)))
    return Entry(key=key, title=key.capitalize(), kind=kind, starts_at=at(*start, day=day), ends_at=at(*end, day=day),
                 room=room, people=people, required=tuple(sorted(DELEGATION)) + tuple(hosts), hosts=tuple(hosts),
                 **more)


def good_day() -> list[Entry]:
    return [
        entry("welcome", ProgrammeKind.WELCOME, (9, 0), (9, 30), people=(COORD,)),
        entry("stem", ProgrammeKind.TOPIC, (9, 30), (11, 0), people=(HOST_A,), hosts=(HOST_A,)),
        entry("lunch", ProgrammeKind.LUNCH, (11, 30), (12, 30), room=102, people=(COORD, HOST_A)),
        entry("cell", ProgrammeKind.TOPIC, (12, 30), (13, 30), people=(HOST_B, EXPERT), hosts=(HOST_B,)),
        entry("wrap", ProgrammeKind.WRAP_UP, (13, 45), (14, 15), people=(COORD,)),
    ]


def programme(entries, **more) -> Programme:
    values = dict(timezone="Europe/Berlin", entries=tuple(entries), delegation=DELEGATION, delegation_size=3,
                  rooms=ROOMS, names=NAMES)
    values.update(more)
    return Programme(**values)


def broken(p: Programme) -> dict[str, list[rules.Violation]]:
    with translation.override("en"):
        results = rules.check(p)
    assert [r.rule for r in results] == list(rules.RULE_IDS)  # every rule is reported, kept or not
    return {r.rule: list(r.violations) for r in results if not r.kept}


def swap(entries, key, **changes):
    return [replace(e, **changes) if e.key == key else e for e in entries]


def test_a_good_programme_keeps_every_rule():
    assert broken(programme(good_day())) == {}


def test_an_empty_programme_breaks_nothing():
    assert broken(programme([])) == {}


def only(found: dict, rule: str) -> list[rules.Violation]:
    assert set(found) == {rule}, {k: [v.message for v in vs] for k, vs in found.items()}
    return found[rule]


def test_welcome_first():
    early = swap(good_day(), "welcome", starts_at=at(9, 30), ends_at=at(10, 0))
    early = swap(early, "stem", starts_at=at(9, 0), ends_at=at(10, 30))
    [v] = only(broken(programme(early)), rules.WELCOME_FIRST)
    assert v.entries == ("stem", "welcome") and "starts before the welcome ends" in v.message
    without = [e for e in good_day() if e.key != "welcome"]
    assert "no welcome" in only(broken(programme(without)), rules.WELCOME_FIRST)[0].message


def test_wrap_up_last_comes_after_the_last_lunch():
    entries = swap(good_day(), "wrap", starts_at=at(11, 0), ends_at=at(11, 30))
    entries = swap(entries, "cell", starts_at=at(9, 30), ends_at=at(10, 30))
    entries = [e for e in entries if e.key != "stem"]
    [v] = only(broken(programme(entries)), rules.WRAP_UP_LAST)  # lunch 11:30 after the wrap-up at 11:00
    assert v.entries == ("lunch", "wrap") and "ends after the wrap-up starts" in v.message


def test_lunch_every_day_across_midday_inside_the_window():
    without = [e for e in good_day() if e.key != "lunch"]
    found = broken(programme(without))
    assert "No lunch on Tue 2 Mar" in only(found, rules.LUNCH)[0].message
    late = swap(good_day(), "lunch", starts_at=at(13, 30), ends_at=at(14, 30))
    late = swap(late, "cell", starts_at=at(11, 15), ends_at=at(12, 15))
    late = swap(late, "wrap", starts_at=at(14, 45), ends_at=at(15, 15))
    [v] = only(broken(programme(late)), rules.LUNCH)
    assert "outside the lunch window 11:30–14:00" in v.message
    morning = [e for e in good_day() if e.key in ("welcome", "stem")]
    morning.append(entry("wrap", ProgrammeKind.WRAP_UP, (11, 0), (11, 30)))
    assert rules.LUNCH not in broken(programme(morning))  # a morning visit needs no lunch


def test_lunch_in_a_room_that_holds_everyone():
    free_text = swap(good_day(), "lunch", room=None, location="Canteen")
    assert "has no room" in only(broken(programme(free_text)), rules.LUNCH_ROOM)[0].message
    small = {**ROOMS, 102: RoomInfo(102, "Cafeteria", 4, venue=1, dining=True)}
    assert "seats 4, but 5 people come" in only(broken(programme(good_day(), rooms=small)), rules.LUNCH_ROOM)[0].message


def test_someone_of_the_centre_joins_lunch():
    alone = swap(good_day(), "lunch", people=tuple(sorted(DELEGATION)))
    assert "Nobody of the centre" in only(broken(programme(alone)), rules.LUNCH_HOST)[0].message


def test_breaks_after_two_and_a_half_hours():
    entries = good_day()
    entries = swap(entries, "stem", starts_at=at(9, 30), ends_at=at(11, 0))
    entries.insert(2, entry("tour", "", (11, 0), (12, 15), people=(HOST_A,)))  # 9:00–12:15 without a pause
    entries = swap(entries, "lunch", starts_at=at(12, 15), ends_at=at(13, 15))
    entries = swap(entries, "cell", starts_at=at(13, 15), ends_at=at(14, 15))
    entries = swap(entries, "wrap", starts_at=at(14, 30), ends_at=at(15, 0))
    [v] = only(broken(programme(entries)), rules.BREAKS)
    assert v.entries == ("welcome", "stem", "tour") and v.people == tuple(sorted(DELEGATION))
    assert "3 h 15 min of meetings without a 15 min break" in v.message
    # A 15-minute pause at 11:00 keeps it.
    paused = swap(entries, "tour", starts_at=at(11, 15), ends_at=at(12, 15))
    assert rules.BREAKS not in broken(programme(paused))


def test_walking_gap_between_buildings():
    entries = swap(good_day(), "cell", room=200)
    entries = swap(entries, "cell", starts_at=at(12, 35), ends_at=at(13, 35))
    [v] = only(broken(programme(entries)), rules.WALKING_GAP)
    assert v.entries == ("lunch", "cell") and "less than 10 min" in v.message
    later = swap(entries, "cell", starts_at=at(12, 40), ends_at=at(13, 30))
    assert rules.WALKING_GAP not in broken(programme(later))


@pytest.mark.parametrize(("reason", "span", "says"), [
    ("absent", ((0, 0), (23, 59)), "Dr. Eva Roth is away that day"),
    ("absent", ((12, 0), (13, 0)), "Dr. Eva Roth is away 12:00–13:00"),
    ("outside_working_hours", ((13, 0), (18, 0)), "Dr. Eva Roth does not work at that time"),
    ("busy_elsewhere", ((12, 0), (14, 0)), "Dr. Eva Roth is busy in their own calendar then"),
    ("in_meeting", ((13, 0), (14, 0)), "Dr. Eva Roth is in “Budget” then"),
])
def test_nobody_invited_while_they_cannot_come_and_the_reason_names_them(reason, span, says):
    busy = {EXPERT: [Unavailable(EXPERT, at(*span[0]), at(*span[1]), reason, "Budget")]}
    [v] = only(broken(programme(good_day(), unavailable=busy)), rules.AVAILABLE)
    assert v.entries == ("cell",) and v.people == (EXPERT,) and says in v.message
    before = {EXPERT: [Unavailable(EXPERT, at(8, 0), at(9, 0), reason, "Budget")]}
    assert broken(programme(good_day(), unavailable=before)) == {}


def test_no_programme_on_a_public_holiday_at_the_venue():
    [v] = only(broken(programme(good_day(), holidays={DAY: "Women's Day"})), rules.HOLIDAY)
    assert "Tue 2 Mar is a public holiday at the venue (Women's Day)" in v.message and len(v.entries) == 5


def test_smallest_free_room_unless_chosen():
    big = swap(good_day(), "stem", room=101)
    [v] = only(broken(programme(big)), rules.SMALLEST_ROOM)
    assert "in Seminar room (60 seats) for 4 people, while Board room (14 seats) is free" in v.message
    assert broken(programme(swap(big, "stem", room_chosen=True))) == {}  # the coordinator pinned it
    booked = {100: [(at(9, 0), at(12, 0))]}  # the board room is taken: the seminar room is the smallest free
    assert rules.SMALLEST_ROOM not in broken(programme(big, room_busy=booked))
    # Lunch goes to the dining room: the smaller board room is no lunch room when there is a canteen.
    assert rules.SMALLEST_ROOM not in broken(programme(good_day()))


def test_same_host_topics():
    two_hours = swap(good_day(), "stem", ends_at=at(10, 30))
    same_host = swap(two_hours, "cell", hosts=(HOST_A,), people=(HOST_A, EXPERT))
    [v] = only(broken(programme(same_host)), rules.SAME_HOST)
    assert v.entries == ("stem", "cell") and "would fit one session of 2 h" in v.message
    # Longer together than a session: separate sessions on the same day are fine.
    assert rules.SAME_HOST not in broken(programme(swap(same_host, "stem", ends_at=at(11, 0))))
    # On different days they break the rule whatever their length.
    wednesday = date(2027, 3, 3)
    split = [*same_host, entry("extra", ProgrammeKind.TOPIC, (9, 0), (10, 0), day=wednesday, people=(HOST_A,),
                                hosts=(HOST_A,))]
    messages = [v.message for v in broken(programme(split))[rules.SAME_HOST]]
    assert any("but are on different days" in m for m in messages)


def test_sentences_are_in_the_visit_language():
    without = [e for e in good_day() if e.key != "welcome"]
    results = rules.check(programme(without), language="de")
    welcome = next(r for r in results if r.rule == rules.WELCOME_FIRST)
    assert welcome.title == "Die Begrüßung eröffnet den Besuch"
    assert welcome.violations[0].message == "Das Programm hat noch keine Begrüßung."
