"""Query filters for the list endpoints (django-filter).

Date ranges are overlaps, not containment: a visit from 3 to 5 May matches ``from=5 May``, and a
request whose preferred window touches the range matches before it has dates of its own. Relations
are tested with ``EXISTS`` subqueries so no filter multiplies rows or needs ``DISTINCT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import django_filters as df
from django import forms
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from events.models import Meeting, Participation
from visits.models import PreferredWindow, Visit

from .fields import DATETIME_PATTERN, ID_SCHEMA, MAX_YEAR, MIN_YEAR


class BoundedIsoDateTimeField(IsoDateTimeField):  # type: ignore[misc]  # django-filter ships no types
    """An ISO 8601 instant within the years the API accepts (the database could not compare others)."""

    def to_python(self, value: Any) -> datetime | None:
        result: datetime | None = super().to_python(value)
        if result is None:
            return None
        if not MIN_YEAR <= result.year <= MAX_YEAR:
            raise forms.ValidationError(f"Must be between the years {MIN_YEAR} and {MAX_YEAR}.", code="range")
        try:
            return result.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Out of range.", code="range") from None


@extend_schema_field({"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN})
class BoundedIsoDateTimeFilter(df.IsoDateTimeFilter):  # type: ignore[misc]
    field_class = BoundedIsoDateTimeField


class IdField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)


@extend_schema_field(ID_SCHEMA)
class IdFilter(df.NumberFilter):  # type: ignore[misc]
    """Filter by a related object's id without looking the object up.

    A ``ModelChoiceFilter`` answers 400 "not a valid choice" for an id that does not exist and 200
    for one that exists but the caller may not see — telling them which ids exist. An id filter only
    narrows the (already scoped) list, so both answer 200 with the same empty page.
    """

    field_class = IdField


def id_filterset(model_: type[Model], ids: Sequence[str], fields: Sequence[str] = ()) -> type[df.FilterSet]:
    """A filter set with an ``IdFilter`` for each relation in ``ids`` (not django-filter's default choice
    filter, which answers 400 for an id that does not exist) and the default filter for each of ``fields``."""
    meta = type("Meta", (), {"model": model_, "fields": [*fields, *ids]})
    attrs: dict[str, Any] = {"Meta": meta, **{name: IdFilter(field_name=name, help_text=f"{name.title()} id")
                                               for name in ids}}
    filterset: type[df.FilterSet] = type(f"{model_.__name__}Filter", (df.FilterSet,), attrs)
    return filterset


class VisitFilter(df.FilterSet):  # type: ignore[misc]
    status = df.MultipleChoiceFilter(choices=Visit.Status.choices, help_text="Repeat for several")
    organisation = IdFilter(field_name="delegation__organisation", help_text="Organisation id")
    topic = df.CharFilter(method="filter_topic", max_length=120, help_text="Topic slug")

    class Meta:
        model = Visit
        fields = ["status", "organisation", "topic"]

    def filter_topic(self, queryset: QuerySet[Visit], name: str, value: str) -> QuerySet[Visit]:
        return queryset.filter(Exists(Visit.topics.through.objects.filter(visit=OuterRef("pk"), topic__slug=value)))

    def filter_nothing(self, queryset: QuerySet[Visit], name: str, value: date) -> QuerySet[Visit]:
        return queryset  # both bounds are applied together in filter_queryset

    def filter_queryset(self, queryset: QuerySet[Visit]) -> QuerySet[Visit]:
        queryset = super().filter_queryset(queryset)
        start, end = self.form.cleaned_data.get("from"), self.form.cleaned_data.get("to")
        if not (start or end):
            return queryset
        own = Q(starts_on__isnull=False)
        windows = PreferredWindow.objects.filter(visit=OuterRef("pk"))
        if start:
            own &= Q(ends_on__gte=start)
            windows = windows.filter(end__gte=start)
        if end:
            own &= Q(starts_on__lte=end)
            windows = windows.filter(start__lte=end)
        return queryset.filter(own | Exists(windows))


# ``from`` and ``to`` are the public parameter names; ``from`` is a Python keyword, so they are added here.
VisitFilter.base_filters["from"] = df.DateFilter(
    method="filter_nothing", label="from", help_text="Visits (dates or preferred windows) overlapping on or after this day"
)
VisitFilter.base_filters["to"] = df.DateFilter(
    method="filter_nothing", label="to", help_text="Visits (dates or preferred windows) overlapping on or before this day"
)


class MeetingFilter(df.FilterSet):  # type: ignore[misc]
    starts_after = BoundedIsoDateTimeFilter(field_name="starts_at", lookup_expr="gte", help_text="Starts at or after")
    starts_before = BoundedIsoDateTimeFilter(field_name="starts_at", lookup_expr="lt", help_text="Starts before")
    room = IdFilter(field_name="room", help_text="Room id")
    person = IdFilter(field_name="participations__person", method="filter_person", help_text="Participant id")
    visit = IdFilter(field_name="programme_slot__visit", help_text="Visit id")
    status = df.ChoiceFilter(choices=Meeting.Status.choices)
    kind = df.ChoiceFilter(choices=Meeting.Kind.choices)

    class Meta:
        model = Meeting
        fields = ["room", "person", "visit", "status", "kind"]

    def filter_person(self, queryset: QuerySet[Meeting], name: str, value: int) -> QuerySet[Meeting]:
        return queryset.filter(Exists(Participation.objects.filter(meeting=OuterRef("pk"), person_id=value)))


MeetingFilter.base_filters["from"] = BoundedIsoDateTimeFilter(
    field_name="ends_at", lookup_expr="gt", label="from", help_text="Overlaps: ends after this instant"
)
MeetingFilter.base_filters["to"] = BoundedIsoDateTimeFilter(
    field_name="starts_at", lookup_expr="lt", label="to", help_text="Overlaps: starts before this instant"
)
