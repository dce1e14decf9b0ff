"""Choice values in the reader's language.

The domain models keep plain English choice labels (they also feed the API and the admin); the
pages translate status, kind, role and RSVP values through this one table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy, pgettext_lazy

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

LABELS = {
    # visit status
    "requested": pgettext_lazy("status", "Requested"),
    "confirmed": pgettext_lazy("status", "Confirmed"),
    "completed": pgettext_lazy("status", "Completed"),
    "declined": pgettext_lazy("status", "Declined"),
    "cancelled": pgettext_lazy("status", "Cancelled"),
    "scheduled": pgettext_lazy("status", "Scheduled"),
    # meeting kinds
    "meeting": pgettext_lazy("kind", "Meeting"),
    "tour": pgettext_lazy("kind", "Tour"),
    "talk": pgettext_lazy("kind", "Talk"),
    "meal": pgettext_lazy("kind", "Meal"),
    "break": pgettext_lazy("kind", "Break"),
    # event kinds
    "info_day": pgettext_lazy("kind", "Info day"),
    "workshop": pgettext_lazy("kind", "Workshop"),
    "conference": pgettext_lazy("kind", "Conference"),
    # participation roles and answers
    "chair": pgettext_lazy("role", "Chair"),
    "host": pgettext_lazy("role", "Host"),
    "presenter": pgettext_lazy("role", "Presenter"),
    "guest": pgettext_lazy("role", "Guest"),
    "needs-action": pgettext_lazy("rsvp", "Needs action"),
    "accepted": pgettext_lazy("rsvp", "Accepted"),
    "tentative": pgettext_lazy("rsvp", "Tentative"),
    "reschedule": pgettext_lazy("message", "Asks for another date"),
    "note": pgettext_lazy("message", "Note"),
}


def label(value: str) -> StrOrPromise:
    """The translated label of a choice value; unknown values pass through."""
    return LABELS.get(value, value)


#: Messages the booking services give in English (they also feed the API), as the pages show them.
SERVICE_MESSAGES = {
    "Give at least one preferred date window.": gettext_lazy("Give at least one preferred date window."),
    "A window must end on or after its start.": gettext_lazy("A window must end on or after its start."),
    "Preferred dates must not be in the past.": gettext_lazy("Preferred dates must not be in the past."),
    "More members listed than the delegation size.": gettext_lazy("More members listed than the delegation size."),
}


def service_message(message: str) -> StrOrPromise:
    """A service's message in the reader's language where the pages know it; else as given."""
    return SERVICE_MESSAGES.get(message, message)
