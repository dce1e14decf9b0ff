"""Which time-zone names Visitdesk accepts.

``zoneinfo.available_timezones()`` also lists files that are not places: ``localtime`` (whatever
the server's clock is set to — a different zone on every host, and a link to nothing in a
container) and ``Factory`` (tzdata's placeholder with the abbreviation "-00"), plus ``posixrules``
on some systems. A meeting's zone is written into invites and feeds as a TZID every calendar
client must understand, so those names are refused.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from .errors import ValidationFailed

NOT_PLACES = frozenset({"localtime", "Factory", "posixrules", "posix", "right", "leapseconds", "tzdata.zi"})


@lru_cache(maxsize=1)
def timezone_names() -> frozenset[str]:
    return frozenset(
        name for name in zoneinfo.available_timezones()
        if name not in NOT_PLACES and not name.startswith(("posix/", "right/"))
    )


def is_timezone_name(value: object) -> bool:
    return isinstance(value, str) and value in timezone_names()


def check_timezone(value: object, *, field: str = "timezone") -> str:
    """``value`` if it is an accepted zone name, else a field error: the one check every write asks."""
    if isinstance(value, str) and value in timezone_names():
        return value
    shown = value[:64] if isinstance(value, str) else value
    raise ValidationFailed(f"{shown!r} is not an IANA time zone name (e.g. Europe/Berlin).", field=field)
