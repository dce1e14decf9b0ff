"""Template helpers for the pages."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils.formats import date_format
from django.utils.translation import get_language

from scheduling.values import RepairChange

from .. import labels

register = template.Library()


@register.filter
def label(value: object) -> object:
    """``{{ visit.status|label }}`` → "Confirmed" / "Bestätigt"; anything but a choice value passes through."""
    return labels.label(value) if isinstance(value, str) else value


#: Date formats per page language. German wants the day's dot and abbreviations with a period
#: ("Mittwoch, 9. Dezember 2026", "Mo., 21. Dez. 2026"), which Django's own DATE_FORMAT does not
#: give; the mails' long form is the catalogue's ``pgettext("long date format", ...)`` (notifications.compose).
DATE_FORMATS = {
    "long": {"en": "l, j F Y", "de": "l, j. F Y"},
    "day": {"en": "j F Y", "de": "j. F Y"},
    "short": {"en": "D j M Y", "de": "D., j. N Y"},
    "short_day_month": {"en": "j M", "de": "j. N"},
    "day_month": {"en": "j F", "de": "j. F"},
    "day_time": {"en": "D j M, H:i", "de": "D., j. N, H:i"},
}


def _formatted(value: date | datetime | None, kind: str) -> str:
    if not value:
        return ""
    lang = (get_language() or "en").split("-")[0]
    return date_format(value, DATE_FORMATS[kind].get(lang, DATE_FORMATS[kind]["en"]))


@register.filter(expects_localtime=True)
def longdate(value: date | datetime | None) -> str:
    """``Wednesday, 9 December 2026`` / ``Mittwoch, 9. Dezember 2026``."""
    return _formatted(value, "long")


@register.filter(expects_localtime=True)
def daydate(value: date | datetime | None) -> str:
    """``9 December 2026`` / ``9. Dezember 2026``."""
    return _formatted(value, "day")


@register.filter(expects_localtime=True)
def shortdate(value: date | datetime | None) -> str:
    """``Mon 21 Dec 2026`` / ``Mo., 21. Dez. 2026``."""
    return _formatted(value, "short")


@register.filter(expects_localtime=True)
def shortdaymonth(value: date | datetime | None) -> str:
    """``21 Dec`` / ``21. Dez.``."""
    return _formatted(value, "short_day_month")


@register.filter(expects_localtime=True)
def daymonth(value: date | datetime | None) -> str:
    """``22 December`` / ``22. Dezember``."""
    return _formatted(value, "day_month")


@register.filter(expects_localtime=True)
def daytime(value: date | datetime | None) -> str:
    """``Tue 22 Dec, 10:00`` / ``Di., 22. Dez., 10:00`` (in the active time zone)."""
    return _formatted(value, "day_time")


@register.filter
def told_as(change: RepairChange, mail: str) -> list[str]:
    """The names of those a repair change mails this way (``update``, ``cancel``, ``invitation``)."""
    return change.told_as(mail)
