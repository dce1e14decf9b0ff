"""A seeded generator for the classic meeting-scheduling instance class, shared by the benchmark and tests.

24 meetings of 2, 3 or 4 hours, 20 people with 2–10 required and 1–9 optional attendees per
meeting, 3 rooms of 30/20/16 seats, 4 days of 08:00–18:00 on a 15-minute grid: the class the
constraint-solver vendors publish as their meeting-scheduling showcase. Plain data only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ROOM_SEATS = (30, 20, 16)


@dataclass(frozen=True)
class ClassicInstance:
    days: list[date]
    timezone: str
    people: list[int]
    rooms: list[tuple[int, int]]  # (index, capacity)
    meetings: list[dict[str, Any]]  # key, title, duration_minutes, required (indexes), optional (indexes)

    def day_bounds(self, start: str = "08:00", end: str = "18:00") -> list[tuple[datetime, datetime]]:
        zone = ZoneInfo(self.timezone)
        a, b = time.fromisoformat(start), time.fromisoformat(end)
        return [(datetime.combine(d, a, tzinfo=zone), datetime.combine(d, b, tzinfo=zone)) for d in self.days]


def classic_instance(seed: int = 1, *, first_day: date | None = None, meetings: int = 24, people: int = 20,
                     rooms: int = 3, timezone: str = "Europe/Berlin") -> ClassicInstance:
    """``rooms`` cycle through 30, 20 and 16 seats (the class has three; scaled-up instances more)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible benchmark instance, not a secret
    first_day = first_day or date(2027, 3, 1)  # a Monday
    days = [first_day + timedelta(days=n) for n in range(4)]
    everyone = list(range(people))
    out = []
    for n in range(meetings):
        required = rng.sample(everyone, rng.randint(2, 10))
        rest = [p for p in everyone if p not in required]
        optional = rng.sample(rest, rng.randint(1, min(9, len(rest))))
        out.append({
            "key": f"m{n + 1}",
            "title": f"Meeting {n + 1}",
            "duration_minutes": rng.choice((120, 180, 240)),
            "required": sorted(required),
            "optional": sorted(optional),
        })
    return ClassicInstance(days=days, timezone=timezone, people=everyone,
                           rooms=[(n, ROOM_SEATS[n % 3]) for n in range(rooms)], meetings=out)
