"""Template helpers for the pages."""

from __future__ import annotations

from datetime import date

from django import template
from django.utils.formats import date_format
from django.utils.translation import get_language

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
}


def _formatted(value: date | None, kind: str) -> str:
    if not value:
        return ""
    lang = (get_language() or "en").split("-")[0]
    return date_format(value, DATE_FORMATS[kind].get(lang, DATE_FORMATS[kind]["en"]))


@register.filter
def longdate(value: date | None) -> str:
    """``Wednesday, 9 December 2026`` / ``Mittwoch, 9. Dezember 2026``."""
    return _formatted(value, "long")


@register.filter
def daydate(value: date | None) -> str:
    """``9 December 2026`` / ``9. Dezember 2026``."""
    return _formatted(value, "day")


@register.filter
def shortdate(value: date | None) -> str:
    """``Mon 21 Dec 2026`` / ``Mo., 21. Dez. 2026``."""
    return _formatted(value, "short")


@register.filter
def shortdaymonth(value: date | None) -> str:
    """``21 Dec`` / ``21. Dez.``."""
    return _formatted(value, "short_day_month")
