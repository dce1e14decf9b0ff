"""Shapes of the API: validation of input shape, rendering of output. No decisions live here.

Input serializers check types, lengths and references and hand plain values to the services;
output serializers render rows that the selectors already joined, so lists cost a constant number
of queries. Field names follow the product's published contract.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from operator import attrgetter
from typing import Any, TypeVar

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as djtz
from rest_framework import ISO_8601, serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings

from calendars import links as calendar_links
from core.periods import ENDS_BEFORE_START, ends_after_start
from directory.models import Language, Organisation, Person, Topic
from events.models import AgendaItem, Event, Meeting, Participation, Room, Venue
from events.selectors import meeting_list
from visits import links as visit_links
from visits.models import Delegation, PreferredWindow, ProgrammeSlot, Visit, VisitLength, VisitMessage
from visits.services import MAX_DELEGATION_SIZE

from .fields import (
    AwareDateTimeField,
    BoundedDateField,
    CountryField,
    EndDateTimeField,
    LocalTimeField,
    OptionalURLField,
    SafePrimaryKeyRelatedField,
    SafeSlugRelatedField,
    SingleLineCharField,
    TimezoneField,
)
from .programme_check import MeetingCheckField

_MT = TypeVar("_MT", bound=models.Model)

COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")


def _country(value: str) -> str:
    if value and not COUNTRY_RE.match(value):
        raise serializers.ValidationError("Use a two-letter ISO 3166-1 code, e.g. DE.")
    return value.upper()


class ModelSerializer(serializers.ModelSerializer[_MT]):
    """Model fields as the API writes them: every ``CharField`` of a model is one line (names, titles)."""

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.CharField: SingleLineCharField}


# --- errors (documentation only) ---------------------------------------------------------------

class ConflictSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    uid = serializers.CharField()
    title = serializers.CharField()
    starts_at = serializers.CharField()
    ends_at = serializers.CharField()
    reason = serializers.CharField()


class ErrorBodySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid, not_found, schedule_conflict")
    message = serializers.CharField()
    # Named like Serializer.fields; the metaclass moves declared fields out of the class, so nothing is shadowed.
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False, child=serializers.JSONField(), help_text="Field name → list of messages (400 only)"
    )
    conflicts = ConflictSerializer(many=True, required=False, help_text="The meetings in the way (409 only)")


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorBodySerializer()


# --- directory -------------------------------------------------------------------------------


class TopicSerializer(ModelSerializer[Topic]):
    class Meta:
        model = Topic
        fields = ["id", "name", "slug", "description", "meeting_minutes"]


class OrganisationSerializer(ModelSerializer[Organisation]):
    website = OptionalURLField()
    country = CountryField(required=False)
    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "country", "city", "website", "created_at"]
        read_only_fields = ["created_at"]
        validators: list[Any] = []  # the case-insensitive uniqueness is checked in validate()

    def validate_country(self, value: str) -> str:
        return _country(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        name = " ".join(attrs.get("name", getattr(self.instance, "name", "")).split())
        country = attrs.get("country", getattr(self.instance, "country", ""))
        clash = Organisation.objects.annotate(lname=Lower("name")).filter(lname=name.lower(), country=country)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"name": ["An organisation with this name and country exists."]})
        if "name" in attrs:
            attrs["name"] = name
        return attrs


class PersonSerializer(ModelSerializer[Person]):
    organisation = SafePrimaryKeyRelatedField(queryset=Organisation.objects.all(), allow_null=True, required=False)
    expertise = SafeSlugRelatedField(slug_field="slug", queryset=Topic.objects.all(), many=True, required=False)
    timezone = TimezoneField(required=False)
    has_account = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = [
            "id", "name", "email", "organisation", "job_title", "phone", "language", "timezone", "expertise",
            "reminders_opt_out", "has_account", "needs_review", "created_at", "updated_at",
        ]
        read_only_fields = ["needs_review", "created_at", "updated_at"]
        validators: list[Any] = []

    def get_has_account(self, obj: Person) -> bool:
        return obj.user_id is not None

    def validate_email(self, value: str) -> str:
        value = value.strip()
        clash = Person.objects.filter(email__iexact=value, needs_review=False)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("A person with this e-mail exists.")
        return value


class VenueSerializer(ModelSerializer[Venue]):
    organisation = SafePrimaryKeyRelatedField(queryset=Organisation.objects.all(), allow_null=True, required=False)
    timezone = TimezoneField(required=False)
    address = serializers.CharField(read_only=True)
    country = CountryField(required=False)

    class Meta:
        model = Venue
        fields = ["id", "name", "organisation", "street", "postcode", "city", "country", "subdivision", "timezone",
                  "address", "directions"]

    def validate_country(self, value: str) -> str:
        return _country(value)


class RoomSerializer(ModelSerializer[Room]):
    venue = SafePrimaryKeyRelatedField(queryset=Venue.objects.all())
    capacity = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    bookable_from = LocalTimeField(required=False, allow_null=True, help_text="Local time; empty means any time")
    bookable_until = LocalTimeField(required=False, allow_null=True, help_text="Local time; after bookable_from")

    class Meta:
        model = Room
        fields = ["id", "venue", "name", "capacity", "bookable_from", "bookable_until", "dining"]
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("bookable_from", getattr(self.instance, "bookable_from", None))
        end = attrs.get("bookable_until", getattr(self.instance, "bookable_until", None))
        if start and end and end <= start:
            raise serializers.ValidationError({"bookable_until": ["Must be after bookable_from."]})
        venue = attrs.get("venue", getattr(self.instance, "venue", None))
        name = attrs.get("name", getattr(self.instance, "name", None))
        clash = Room.objects.filter(venue=venue, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"name": ["This venue already has a room with this name."]})
        return attrs


class OrganisationBriefSerializer(ModelSerializer[Organisation]):
    class Meta:
        model = Organisation
        fields = ["id", "name", "country"]


class PersonBriefSerializer(ModelSerializer[Person]):
    class Meta:
        model = Person
        fields = ["id", "name", "email", "job_title"]


class DelegationSerializer(ModelSerializer[Delegation]):
    organisation = OrganisationBriefSerializer(read_only=True)
    lead = PersonBriefSerializer(read_only=True, allow_null=True)
    members = PersonBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Delegation
        fields = ["id", "name", "size", "organisation", "lead", "members"]


# --- visits ----------------------------------------------------------------------------------


class WindowSerializer(serializers.Serializer[Any]):
    start = BoundedDateField()
    end = BoundedDateField(help_text="On or after start")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be on or after start."]})
        return attrs


class PreferredWindowSerializer(ModelSerializer[PreferredWindow]):
    class Meta:
        model = PreferredWindow
        fields = ["start", "end"]


class VisitSerializer(ModelSerializer[Visit]):
    delegation = DelegationSerializer(read_only=True)
    contact = PersonBriefSerializer(read_only=True)
    host_organisation = OrganisationBriefSerializer(read_only=True, allow_null=True)
    coordinator = PersonBriefSerializer(read_only=True, allow_null=True)
    topics = serializers.SlugRelatedField[Topic](slug_field="slug", many=True, read_only=True)
    preferred_windows = PreferredWindowSerializer(many=True, read_only=True)
    duration = serializers.ChoiceField(choices=VisitLength.choices, allow_blank=True, read_only=True,
                                       help_text="How long the requester asked the visit to be (blank: not said)")
    calendar_url = serializers.SerializerMethodField()
    webcal_url = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        fields = [
            "id", "reference", "status", "delegation", "contact", "host_organisation", "venue", "coordinator",
            "topics", "purpose", "duration", "language", "timezone", "starts_on", "ends_on", "preferred_windows",
            "decision_note", "requested_at", "confirmed_at", "closed_at", "updated_at", "calendar_url", "webcal_url",
            "delegation_mail", "programme_sent_at",
        ]
        read_only_fields = fields

    def get_calendar_url(self, obj: Visit) -> str:
        return calendar_links.visit_feed_url(obj)

    def get_webcal_url(self, obj: Visit) -> str:
        return calendar_links.feed_links(calendar_links.visit_feed_url(obj))["webcal"]


class VisitConfirmSerializer(serializers.Serializer[Any]):
    starts_on = BoundedDateField(required=False, help_text="First day; defaults to the first preferred window")
    ends_on = BoundedDateField(required=False, help_text="Last day (inclusive)")
    timezone = TimezoneField(required=False)


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class OrganisationInputSerializer(serializers.Serializer[Any]):
    name = SingleLineCharField(max_length=200)
    country = CountryField(required=False, default="")
    website = OptionalURLField(default="")

    def validate_country(self, value: str) -> str:
        return _country(value)


class ContactInputSerializer(serializers.Serializer[Any]):
    name = SingleLineCharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    language = serializers.ChoiceField(choices=Language.choices, required=False, default=Language.EN)


class MemberInputSerializer(serializers.Serializer[Any]):
    name = SingleLineCharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    job_title = SingleLineCharField(max_length=200, required=False, allow_blank=True, default="")


class DelegationInputSerializer(serializers.Serializer[Any]):
    name = SingleLineCharField(max_length=200)
    size = serializers.IntegerField(min_value=1, max_value=MAX_DELEGATION_SIZE)
    members = serializers.ListSerializer[Any](child=MemberInputSerializer(), required=False, max_length=MAX_DELEGATION_SIZE,
                                         default=list)


class VisitRequestInputSerializer(serializers.Serializer[Any]):
    organisation = OrganisationInputSerializer()
    contact = ContactInputSerializer()
    delegation = DelegationInputSerializer()
    preferred_windows = serializers.ListSerializer[Any](child=WindowSerializer(), min_length=1, max_length=10)
    topics = serializers.ListField(
        child=SafeSlugRelatedField(slug_field="slug", queryset=Topic.objects.all()),
        required=False, default=list, max_length=50, help_text="Topic slugs",
    )
    purpose = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    duration = serializers.ChoiceField(
        choices=VisitLength.choices, required=False, allow_blank=True, default="",
        help_text="How long the visit should be; confirming without dates takes that many working days "
                  "inside the first preferred window")


class VisitRequestCreatedSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=Visit.Status.choices)
    status_url = serializers.URLField(help_text="Private page for the requester (keep it secret)")
    status_api_url = serializers.URLField(help_text="The same, as this API's resource")


class VisitMessageSerializer(ModelSerializer[VisitMessage]):
    class Meta:
        model = VisitMessage
        fields = ["id", "kind", "body", "from_requester", "created_at"]


class VisitMessageInputSerializer(serializers.Serializer[Any]):
    body = serializers.CharField(max_length=5000)
    kind = serializers.ChoiceField(choices=VisitMessage.Kind.choices, default=VisitMessage.Kind.RESCHEDULE_REQUEST)


class ProgrammeMeetingSerializer(ModelSerializer[Meeting]):
    room = serializers.SerializerMethodField()

    class Meta:
        model = Meeting
        fields = ["title", "starts_at", "ends_at", "timezone", "room", "location", "online_url", "kind", "status"]

    def get_room(self, obj: Meeting) -> str | None:
        return str(obj.room) if obj.room_id else None


class VisitRequestStatusSerializer(ModelSerializer[Visit]):
    """What the requester sees through their private token: their own request, no internal notes."""

    organisation = serializers.CharField(source="delegation.organisation.name")
    delegation = serializers.SerializerMethodField()
    topics = serializers.SlugRelatedField[Topic](slug_field="slug", many=True, read_only=True)
    preferred_windows = PreferredWindowSerializer(many=True, read_only=True)
    duration = serializers.ChoiceField(choices=VisitLength.choices, allow_blank=True, read_only=True,
                                       help_text="How long the requester asked the visit to be (blank: not said)")
    status_url = serializers.SerializerMethodField()
    calendar_url = serializers.SerializerMethodField()
    programme = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        fields = [
            "reference", "status", "organisation", "delegation", "topics", "purpose", "duration", "language", "timezone",
            "preferred_windows", "starts_on", "ends_on", "decision_note", "requested_at", "status_url",
            "calendar_url", "programme",
        ]
        read_only_fields = fields

    def get_delegation(self, obj: Visit) -> dict[str, Any]:
        return {
            "name": obj.delegation.name,
            "size": obj.delegation.size,
            "members": [{"name": m.name, "job_title": m.job_title} for m in obj.delegation.members.all()],
        }

    def get_status_url(self, obj: Visit) -> str:
        return visit_links.visit_status_url(obj)

    def get_calendar_url(self, obj: Visit) -> str | None:
        return calendar_links.visit_feed_url(obj) if obj.status == Visit.Status.CONFIRMED else None

    def get_programme(self, obj: Visit) -> list[dict[str, Any]]:
        meetings = self.context.get("programme", [])
        return list(ProgrammeMeetingSerializer(meetings, many=True).data)


# --- meetings --------------------------------------------------------------------------------


class ParticipationSerializer(ModelSerializer[Participation]):
    name = serializers.CharField(source="person.name", read_only=True)
    email = serializers.CharField(source="person.email", read_only=True)

    class Meta:
        model = Participation
        fields = ["person", "name", "email", "role", "rsvp", "responded_at", "blocks_time"]


class AgendaItemSerializer(ModelSerializer[AgendaItem]):
    topic = serializers.SlugRelatedField[Topic](slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = AgendaItem
        fields = ["position", "title", "topic", "presenter", "minutes", "notes"]


#: Any serializer field, and what writes one value of it.
_Field = serializers.Field[Any, Any, Any, Any]
_Writer = Callable[[Any], Any]
#: The rows of one nested list field, per meeting id.
_Nested = dict[int, list[dict[str, Any]]]


def _source(field: _Field) -> str:
    """A bound field's dotted ``source`` (the stubs also allow a callable, which DRF never binds)."""
    assert isinstance(field.source, str)
    return field.source


def _datetime_writer(field: _Field) -> _Writer:
    """``field.to_representation`` for aware date-times, with the zone looked up once instead of per value.

    Exactly DRF's ISO 8601 output (``DateTimeField.to_representation``: the current zone, ``Z`` for
    UTC); any other field or format keeps the field's own method.
    """
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if type(field) is not serializers.DateTimeField or not isinstance(output_format, str) \
            or output_format.lower() != ISO_8601 or getattr(field, "timezone", None) is not None:
        return field.to_representation
    zone = field.default_timezone()
    if zone is None:
        return field.to_representation

    def write(value: Any) -> Any:
        if not value or not djtz.is_aware(value):
            return field.to_representation(value)
        text: str = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


def _value_writer(field: _Field) -> _Writer:
    """How one plain field writes a value already read from the row (None stays None, as in DRF)."""
    if isinstance(field, serializers.RelatedField):  # the column is already the key or slug it writes
        return lambda value: value
    write = _datetime_writer(field) if isinstance(field, serializers.DateTimeField) else field.to_representation
    return lambda value: None if value is None else write(value)


def _field_value(field: _Field, instance: object) -> Any:
    """What ``Serializer.to_representation`` writes for one field (None without asking the field)."""
    value = field.get_attribute(instance)
    return None if value is None else field.to_representation(value)


def _column(field: _Field) -> str | None:
    """The ``values()`` path of a read-only field of a related row; None when only the field itself can tell."""
    source = _source(field)
    if source == "*" or isinstance(field, serializers.SerializerMethodField | serializers.BaseSerializer
                                   | serializers.ManyRelatedField):
        return None
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        return f"{source}_id" if "." not in source else None
    if isinstance(field, serializers.SlugRelatedField):
        return f"{source}__{field.slug_field}" if "." not in source else None
    if isinstance(field, serializers.RelatedField):
        return None
    return source.replace(".", "__")


def _column_writer(attr: str, write: _Writer) -> Callable[[Meeting], Any]:
    """One column of a bare row, written by its field's writer."""
    return lambda m: write(getattr(m, attr))


def _rows_of(rows: _Nested) -> Callable[[Meeting], Any]:
    """A meeting's rows of one nested list field."""
    return lambda m: rows[m.pk]


def _fields_of(serializer: _Field | None) -> Mapping[str, _Field]:
    """The fields of a (list of a) serializer: ``MeetingSerializer`` and its nested ``many=True`` ones."""
    if isinstance(serializer, serializers.ListSerializer):
        serializer = serializer.child
    assert isinstance(serializer, serializers.Serializer)
    return serializer.fields


class MeetingListSerializer(serializers.ListSerializer[Any]):
    """A page of meetings at the speed of the database (issue 21: a page of 100 cost 7x a bare ``values()``).

    The same JSON as ``MeetingSerializer`` per row, built without a model instance or a serializer
    field per related row: the view hands over bare ``Meeting`` rows (the programme slot's visit
    joined in as ``listed_visit_id``, no prefetch), and the page's participants and agenda items are
    read with ``values()`` in one query each, their columns taken from the nested serializers' own
    fields (so a field added there appears here too). Values go through the fields' own
    ``to_representation`` (date-times with the zone looked up once), so they read exactly alike.
    With ``programme_check`` in the context (never for lists), or a nested field that is not a
    plain column, each row takes the ordinary path.
    """

    #: nested list field → (its model, the order ``events.selectors.meeting_list`` prefetches it in within a
    #: meeting; rows are grouped by ``meeting_id``, not by the meeting's own ordering, which joins the meetings)
    NESTED: dict[str, tuple[type[Participation] | type[AgendaItem], tuple[str, ...]]] = {
        "participants": (Participation, ("role", "person__name", "pk")),
        "agenda_items": (AgendaItem, ("meeting_id", "position", "pk")),
    }

    def to_representation(self, data: models.Manager[Meeting] | Iterable[Meeting]) -> list[Any]:
        meetings: list[Meeting] = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        if self.context.get("programme_check") or not meetings:
            return super().to_representation(meetings)
        ids = [m.pk for m in meetings]
        found = {name: self._nested(name, ids) for name in self.NESTED}
        nested = {name: rows for name, rows in found.items() if rows is not None}
        if len(nested) < len(found):  # a field only a model instance can give
            full = {m.pk: m for m in meeting_list().select_related("programme_slot").filter(pk__in=ids)}
            return super().to_representation([full[pk] for pk in ids])
        visits: dict[int, int | None]
        listed = "listed_visit_id"  # annotated by the view (``api.meetings``), so not part of the model's type
        if all(hasattr(m, listed) for m in meetings):
            visits = {m.pk: getattr(m, listed) for m in meetings}
        else:
            visits = dict(ProgrammeSlot.objects.filter(meeting_id__in=ids).order_by().values_list("meeting_id", "visit_id"))
        marker = 987654321  # one reverse() for the page, not one per row
        prefix, _, suffix = calendar_links.meeting_ics_url(Meeting(pk=marker)).partition(str(marker))
        special: dict[str, Callable[[Meeting], Any]] = {
            "visit": lambda m: visits.get(m.pk),
            "ics_url": lambda m: f"{prefix}{m.pk}{suffix}",
            "programme_check": lambda m: None,
            **{name: _rows_of(rows) for name, rows in nested.items()},
        }
        writers: list[tuple[str, Callable[[Meeting], Any]]] = []
        for name, field in _fields_of(self.child).items():
            if field.write_only:
                continue
            if name in special:
                writers.append((name, special[name]))
            elif isinstance(field, serializers.PrimaryKeyRelatedField) and "." not in (source := _source(field)):
                writers.append((name, attrgetter(f"{source}_id")))
            elif (column := _column(field)) is not None and "__" not in column:
                write = _value_writer(field)
                writers.append((name, _column_writer(column, write)))
            else:
                writers.append((name, partial(_field_value, field)))
        return [{name: write(m) for name, write in writers} for m in meetings]

    def _nested(self, name: str, ids: list[int]) -> _Nested | None:
        model, order = self.NESTED[name]
        fields = [(key, f) for key, f in _fields_of(_fields_of(self.child)[name]).items() if not f.write_only]
        found = [_column(f) for _key, f in fields]
        columns = [column for column in found if column is not None]
        if len(columns) < len(found):
            return None
        writers = [(key, _value_writer(f)) for key, f in fields]
        rows: _Nested = {pk: [] for pk in ids}
        for meeting_id, *values in (model.objects.filter(meeting_id__in=ids).order_by(*order)
                                    .values_list("meeting_id", *columns)):
            rows[meeting_id].append({key: write(value) for (key, write), value in zip(writers, values, strict=True)})
        return rows


class MeetingSerializer(ModelSerializer[Meeting]):
    online_url = OptionalURLField(read_only=True)
    participants = ParticipationSerializer(source="participations", many=True, read_only=True)
    agenda_items = AgendaItemSerializer(many=True, read_only=True)
    visit = serializers.SerializerMethodField()
    ics_url = serializers.SerializerMethodField()
    programme_check = MeetingCheckField()

    class Meta:
        model = Meeting
        fields = [
            "id", "uid", "sequence", "status", "title", "description", "starts_at", "ends_at", "timezone", "room",
            "location", "online_url", "kind", "visit", "event", "participants", "agenda_items", "ics_url",
            "cancelled_at", "created_at", "updated_at", "booked_against_availability", "programme_check",
        ]
        read_only_fields = fields
        list_serializer_class = MeetingListSerializer

    def get_visit(self, obj: Meeting) -> int | None:
        slot = getattr(obj, "programme_slot", None)
        return slot.visit_id if slot is not None else None

    def get_ics_url(self, obj: Meeting) -> str:
        return calendar_links.meeting_ics_url(obj)


class WholeItemSerializer(serializers.Serializer[Any]):
    """An item of a list that is written whole, also inside a PATCH: DRF hands ``partial`` down to nested
    serializers, which would then skip required fields and defaults (a PATCH with an agenda item without
    a title answered 500). Here missing required fields are a 400 on the field, defaults are filled."""

    def validate(self, attrs: Any) -> Any:
        attrs = dict(attrs)
        missing: dict[str, list[str]] = {}
        for name, field in self.fields.items():
            if field.read_only or field.source in attrs:
                continue
            if field.default is not empty:
                # not ``get_default()``: it skips (SkipField) whenever the root is partial
                attrs[field.source] = field.default() if callable(field.default) else field.default
            elif field.required:
                missing[name] = [str(field.error_messages["required"])]
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class ParticipantInputSerializer(WholeItemSerializer):
    person = SafePrimaryKeyRelatedField(queryset=Person.objects.all())
    role = serializers.ChoiceField(choices=Participation.Role.choices, default=Participation.Role.GUEST)


class AgendaItemInputSerializer(WholeItemSerializer):
    title = SingleLineCharField(max_length=200)
    topic = SafeSlugRelatedField(slug_field="slug", queryset=Topic.objects.all(), required=False, allow_null=True,
                                 default=None, help_text="Topic slug")
    presenter = SafePrimaryKeyRelatedField(queryset=Person.objects.all(), required=False, allow_null=True,
                                           default=None, help_text="Person id")
    minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, required=False, allow_null=True, default=None)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class EndsAfterStartMixin:
    """Field error on ``ends_at`` when a (partial) write would end a period before it starts.

    The services check the same rule; checking it here too gives the API's field-error shape.
    """

    ends_after_start_message = ENDS_BEFORE_START

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = getattr(self, "instance", None)
        starts_at = attrs.get("starts_at", getattr(instance, "starts_at", None))
        ends_at = attrs.get("ends_at", getattr(instance, "ends_at", None))
        if starts_at and ends_at and not ends_after_start(starts_at, ends_at):
            raise serializers.ValidationError({"ends_at": [self.ends_after_start_message]})
        checked: dict[str, Any] = super().validate(attrs)  # type: ignore[misc]
        return checked


class MeetingInputSerializer(EndsAfterStartMixin, serializers.Serializer[Any]):
    title = SingleLineCharField(max_length=200)
    starts_at = AwareDateTimeField(help_text="ISO 8601 with offset")
    ends_at = EndDateTimeField(help_text="ISO 8601 with offset; after starts_at")
    timezone = TimezoneField(required=False, help_text="IANA name; defaults to the room's venue or the visit")
    room = SafePrimaryKeyRelatedField(queryset=Room.objects.select_related("venue"), required=False, allow_null=True)
    location = SingleLineCharField(max_length=300, required=False, allow_blank=True)
    online_url = OptionalURLField()
    kind = serializers.ChoiceField(choices=Meeting.Kind.choices, required=False)
    visit = SafePrimaryKeyRelatedField(queryset=Visit.objects.all(), required=False, allow_null=True)
    event = SafePrimaryKeyRelatedField(queryset=Event.objects.select_related("venue"), required=False, allow_null=True)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    participants = serializers.ListSerializer[Any](child=ParticipantInputSerializer(), required=False, max_length=200)
    agenda_items = serializers.ListSerializer[Any](child=AgendaItemInputSerializer(), required=False, max_length=100)
    override_availability = serializers.BooleanField(
        required=False, help_text="Coordinators: book although a participant is outside working hours, absent or busy"
    )

    ends_after_start_message = "The meeting must end after it starts."


class RescheduleSerializer(EndsAfterStartMixin, serializers.Serializer[Any]):
    starts_at = AwareDateTimeField()
    ends_at = EndDateTimeField(help_text="ISO 8601 with offset; after starts_at")
    override_availability = serializers.BooleanField(required=False)

    ends_after_start_message = "The meeting must end after it starts."


class RsvpSerializer(serializers.Serializer[Any]):
    rsvp = serializers.ChoiceField(choices=[
        Participation.Rsvp.ACCEPTED, Participation.Rsvp.DECLINED, Participation.Rsvp.TENTATIVE,
    ])
    person = SafePrimaryKeyRelatedField(
        queryset=Person.objects.all(), required=False,
        help_text="Whose answer (coordinators only); defaults to the caller",
    )


# --- public events and me --------------------------------------------------------------------


class EventMeetingSerializer(ModelSerializer[Meeting]):
    online_url = OptionalURLField(read_only=True)
    room = serializers.SerializerMethodField()
    ics_url = serializers.SerializerMethodField()

    class Meta:
        model = Meeting
        fields = ["id", "uid", "title", "description", "starts_at", "ends_at", "timezone", "room", "location",
                  "online_url", "kind", "status", "ics_url"]

    def get_room(self, obj: Meeting) -> str | None:
        return str(obj.room) if obj.room_id else None

    def get_ics_url(self, obj: Meeting) -> str:
        return calendar_links.meeting_ics_url(obj)


class EventSerializer(ModelSerializer[Event]):
    venue = VenueSerializer(read_only=True, allow_null=True)
    topics = serializers.SlugRelatedField[Topic](slug_field="slug", many=True, read_only=True)
    meetings = EventMeetingSerializer(many=True, read_only=True)

    class Meta:
        model = Event
        fields = ["id", "title", "slug", "kind", "description", "is_public", "venue", "topics", "meetings"]


class MeSerializer(ModelSerializer[Person]):
    organisation = OrganisationBriefSerializer(read_only=True, allow_null=True)
    expertise = serializers.SlugRelatedField[Topic](slug_field="slug", many=True, read_only=True)
    calendar_url = serializers.SerializerMethodField(help_text="Private https URL of your calendar feed")
    webcal_url = serializers.SerializerMethodField(help_text="The same feed as webcal:// for one-click subscribe")
    is_coordinator = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = ["id", "name", "email", "organisation", "job_title", "language", "timezone", "expertise",
                  "reminders_opt_out", "calendar_url", "webcal_url", "is_coordinator"]
        read_only_fields = fields

    def get_calendar_url(self, obj: Person) -> str:
        return calendar_links.person_feed_url(obj)

    def get_webcal_url(self, obj: Person) -> str:
        return calendar_links.feed_links(calendar_links.person_feed_url(obj))["webcal"]

    def get_is_coordinator(self, obj: Person) -> bool:
        return bool(self.context.get("is_coordinator"))
