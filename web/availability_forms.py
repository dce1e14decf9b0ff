"""Forms of the host's own availability page (``/staff/availability/``).

Working hours are typed as a line per weekday ("09:00-12:00, 13:00-17:00"): quicker to fill and to
read back than fourteen time pickers, and the same whether there is one interval a day or three.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

#: Dates outside this range are typing mistakes (and beyond what every database stores).
MIN_YEAR, MAX_YEAR = 1900, 2200

WEEKDAYS = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]
INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def parse_intervals(text: str) -> list[tuple[time, time]]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = INTERVAL.match(part)
        if not match:
            raise forms.ValidationError(_("Write intervals like 09:00-12:00, 13:00-17:00."))
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise forms.ValidationError(_("Times run from 00:00 to 23:59."))
        start, end = time(h1, m1), time(h2, m2)
        if end <= start:
            raise forms.ValidationError(_("Each interval must end after it starts (%(part)s).") % {"part": part})
        out.append((start, end))
    return out


def format_intervals(rows: Iterable[tuple[time, time]]) -> str:
    return ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in rows)


class WeeklyHoursForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index, name in enumerate(WEEKDAYS):
            self.fields[f"day{index}"] = forms.CharField(
                label=name, required=False, max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "09:00-12:00, 13:00-17:00", "autocomplete": "off"}),
            )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        weekly: list[tuple[int, time, time]] = []
        for index in range(7):
            try:
                weekly += [(index, a, b) for a, b in parse_intervals(data.get(f"day{index}") or "")]
            except forms.ValidationError as error:
                self.add_error(f"day{index}", error)
        data["weekly"] = weekly
        return data


class ExceptionForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    hours = forms.CharField(label=_("Hours that day"), required=False, max_length=200,
                            help_text=_("Empty: not working that day."),
                            widget=forms.TextInput(attrs={"placeholder": "10:00-14:00"}))

    def clean_date(self) -> dt.date:  # ``date`` is the field in here
        value: dt.date = self.cleaned_data["date"]
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise forms.ValidationError(_("Choose a realistic date."))
        return value

    def clean_hours(self) -> list[tuple[time, time]]:
        return parse_intervals(self.cleaned_data.get("hours") or "")


class AbsenceForm(forms.Form):
    """Times are the person's own wall-clock times."""

    starts_at = forms.DateTimeField(label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(label=_("Reason (only coordinators see it)"), required=False, max_length=200)

    def __init__(self, *args: Any, zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zoneinfo.ZoneInfo(zone)

    def _aware(self, value: datetime) -> datetime:
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise forms.ValidationError(_("Choose a realistic date."))
        return value.replace(tzinfo=self.zone) if value.tzinfo is None else value.astimezone(self.zone)

    def clean_starts_at(self) -> datetime:
        return self._aware(self.cleaned_data["starts_at"])

    def clean_ends_at(self) -> datetime:
        return self._aware(self.cleaned_data["ends_at"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("It must end after it starts."))
        return data


class CalendarForm(forms.Form):
    url = forms.CharField(label=_("Your calendar's secret address (ICS)"), max_length=2000,
                          widget=forms.URLInput(attrs={"placeholder": "https://…/basic.ics"}))
