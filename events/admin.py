"""Admin for venues, rooms, events and meetings, writing through ``events.services``.

A meeting saved here is exactly like one saved through the API: a change of time or room raises
SEQUENCE (so participants get an update), overlaps are refused, cancellation sends a CANCEL instead
of deleting the row. The forms run the conflict selector first so a coordinator sees the clash on
the field; if the service still refuses (a concurrent booking, a room's opening hours), the whole
save is rolled back and the form is shown again with the service's message, never a 500.

``visits.admin`` extends ``MeetingAdmin`` with the programme link: this module knows nothing of visits.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Min
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone as djtz
from django.utils.html import format_html

from directory.errors import DomainError

from . import selectors, services
from .models import AgendaItem, Event, Meeting, MeetingRevision, Participation, Room, Venue

#: The meeting fields the admin form edits; all of them go through ``meeting_create``/``meeting_update``.
MEETING_FORM_FIELDS = ["title", "kind", "event", "starts_at", "ends_at", "timezone", "room", "location",
                       "online_url", "description"]
DOMAIN_ERROR_ATTR = "_visitdesk_domain_error"


def describe_conflicts(conflicts) -> str:
    parts = []
    for m in conflicts:
        local = m.starts_at.astimezone(zoneinfo.ZoneInfo(m.timezone))
        parts.append(f"“{m.title}” on {local:%Y-%m-%d %H:%M} ({getattr(m, 'conflict_reason', 'overlap')})")
    return "Overlaps with " + "; ".join(parts) + "."


def local_time(meeting: Meeting, value) -> str:
    if value is None:
        return "–"
    try:
        zone = zoneinfo.ZoneInfo(meeting.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return f"{value.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"


class DomainErrorFormMixin:
    """Shows a DomainError that the service raised after validation (see ``MeetingAdmin.changeform_view``)."""

    request = None

    def clean(self):
        cleaned = super().clean()
        error = getattr(self.request, DOMAIN_ERROR_ATTR, None)
        if error is not None:
            if error.field and error.field in self.fields and error.field not in self.errors:
                self.add_error(error.field, error.message)
            else:
                raise ValidationError(error.message, code=error.code)
        return cleaned


# --- venues and rooms ------------------------------------------------------------------------


class RoomInline(admin.TabularInline):
    model = Room
    fields = ["name", "capacity", "bookable_from", "bookable_until"]
    extra = 0
    show_change_link = True


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "city", "country", "timezone", "room_count"]
    list_filter = ["country", "timezone"]
    search_fields = ["name", "city", "street", "organisation__name"]
    autocomplete_fields = ["organisation"]
    inlines = [RoomInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organisation").annotate(_rooms=Count("rooms"))

    @admin.display(description="rooms", ordering="_rooms")
    def room_count(self, obj) -> int:
        return obj._rooms


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "venue", "capacity", "bookable_from", "bookable_until"]
    list_filter = ["venue"]
    search_fields = ["name", "venue__name", "venue__city"]
    list_select_related = ["venue"]
    autocomplete_fields = ["venue"]


# --- events ----------------------------------------------------------------------------------


class EventMeetingInline(admin.TabularInline):
    """The event's sessions, read-only here: they are edited (and invited) one by one."""

    model = Meeting
    fields = readonly_fields = ("title", "when", "room", "status", "sequence")
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="when")
    def when(self, obj) -> str:
        return local_time(obj, obj.starts_at)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "is_public", "venue", "first_session", "session_count"]
    list_filter = ["kind", "is_public", "venue", "topics"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["venue"]
    filter_horizontal = ["topics"]
    readonly_fields = ["add_session", "created_at"]
    inlines = [EventMeetingInline]

    def get_queryset(self, request):
        return (
            super().get_queryset(request)
            .select_related("venue")
            .annotate(_sessions=Count("meetings", distinct=True), _first=Min("meetings__starts_at"))
        )

    @admin.display(description="sessions", ordering="_sessions")
    def session_count(self, obj) -> int:
        return obj._sessions

    @admin.display(description="first session", ordering="_first")
    def first_session(self, obj):
        return obj._first

    @admin.display(description="new session")
    def add_session(self, obj) -> str:
        if not obj.pk:
            return "Save the event first."
        url = reverse("admin:events_meeting_add") + f"?event={obj.pk}"
        return format_html('<a href="{}">Add a session to this event</a>', url)


# --- meetings --------------------------------------------------------------------------------


def https_formfield(field, **kwargs):
    """Django 5.x warns unless a URL field says which scheme a bare "example.org" gets."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class MeetingForm(DomainErrorFormMixin, forms.ModelForm):
    class Meta:
        model = Meeting
        fields = MEETING_FORM_FIELDS
        formfield_callback = https_formfield

    def clean(self):
        cleaned = super().clean()
        meeting = self.instance
        if meeting.pk and meeting.is_cancelled and self.has_changed():
            raise ValidationError("A cancelled meeting cannot be changed; create a new one.", code="meeting_cancelled")
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts is None or ends is None:
            return cleaned
        if ends <= starts:
            # On the field, which also spares the user Django's raw "constraint violated" message.
            self.add_error("ends_at", "The meeting must end after it starts.")
            return cleaned
        room = cleaned.get("room")
        blocking = []
        if meeting.pk:
            blocking = list(
                meeting.participations.filter(role__in=Participation.BLOCKING_ROLES).values_list("person_id", flat=True)
            )
        if meeting.pk and meeting.is_cancelled:
            return cleaned
        conflicts = selectors.meeting_conflicts(
            starts_at=starts, ends_at=ends, room_id=room.pk if room else None, person_ids=blocking,
            exclude_meeting_id=meeting.pk,
        )
        if conflicts:
            in_room = [m for m in conflicts if room and m.room_id == room.pk]
            if in_room:
                self.add_error("room", describe_conflicts(in_room))
            others = [m for m in conflicts if m not in in_room]
            if others:
                self.add_error(None, describe_conflicts(others))
        return cleaned


class ParticipationFormSet(forms.BaseInlineFormSet):
    """Refuses a chair/host/presenter who is busy elsewhere at the meeting's (possibly new) time."""

    def clean(self):
        super().clean()
        meeting = self.instance
        if not meeting.starts_at or not meeting.ends_at or meeting.ends_at <= meeting.starts_at:
            return
        if meeting.status != Meeting.Status.SCHEDULED:
            return
        blocking = [
            f.cleaned_data["person"].pk
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("person")
            and f.cleaned_data.get("role") in Participation.BLOCKING_ROLES
        ]
        if not blocking:
            return
        conflicts = selectors.meeting_conflicts(
            starts_at=meeting.starts_at, ends_at=meeting.ends_at, room_id=None, person_ids=blocking,
            exclude_meeting_id=meeting.pk,
        )
        if conflicts:
            raise ValidationError(describe_conflicts(conflicts))


class ParticipationInline(admin.TabularInline):
    model = Participation
    formset = ParticipationFormSet
    fields = ["person", "role", "rsvp", "responded_at", "blocks_time"]
    readonly_fields = ["rsvp", "responded_at", "blocks_time"]
    autocomplete_fields = ["person"]
    extra = 1
    verbose_name = "participant"


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    fields = ["position", "title", "topic", "presenter", "minutes", "notes"]
    autocomplete_fields = ["topic", "presenter"]
    extra = 1
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})}}


class RevisionInline(admin.TabularInline):
    """What participants were told, SEQUENCE by SEQUENCE."""

    model = MeetingRevision
    fields = readonly_fields = ("sequence", "changes", "created_at")
    extra = 0
    can_delete = False
    verbose_name_plural = "revisions (each raised SEQUENCE)"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    form = MeetingForm

    class Media:
        css = {"all": ["events/admin.css"]}  # the inlines fit the content box

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "when", "until", "room", "kind", "status", "sequence", "event", "participant_count"]
    list_filter = ["status", "kind", ("starts_at", admin.DateFieldListFilter), "room__venue", "event"]
    search_fields = ["title", "uid", "description", "room__name", "location", "participants__name",
                     "participants__email"]
    date_hierarchy = "starts_at"
    list_select_related = ["room__venue", "event"]
    autocomplete_fields = ["room", "event"]
    readonly_fields = ["uid", "sequence", "status", "cancelled_at", "created_at", "updated_at", "local_times"]
    fieldsets = [
        (None, {"fields": ["title", "kind", "event", "description"]}),
        ("When and where", {
            "fields": ["starts_at", "ends_at", "timezone", "local_times", "room", "location", "online_url"],
            "description": "Times are entered in the meeting's time zone (for a new meeting: "
                           f"{settings.TIME_ZONE}). Changing time, room or text raises SEQUENCE and "
                           "sends participants an update.",
        }),
        ("Calendar identity", {"fields": ["uid", "sequence", "status", "cancelled_at", "created_at", "updated_at"]}),
    ]
    inlines = [ParticipationInline, AgendaItemInline, RevisionInline]
    actions = ["cancel_meetings"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_people=Count("participations", distinct=True))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_cancelled:
            readonly += [f for f in MEETING_FORM_FIELDS if f not in readonly]
        return readonly

    def has_delete_permission(self, request, obj=None):
        # Deleting would leave participants' calendars holding a meeting that no longer exists;
        # cancelling sends them METHOD:CANCEL and keeps the row for the feeds.
        return False

    # --- list columns ----------------------------------------------------------------------

    @admin.display(description="starts (local)", ordering="starts_at")
    def when(self, obj) -> str:
        return local_time(obj, obj.starts_at)

    @admin.display(description="ends", ordering="ends_at")
    def until(self, obj) -> str:
        return f"{obj.ends_at.astimezone(zoneinfo.ZoneInfo(obj.timezone)):%H:%M}" if obj.ends_at else "–"

    @admin.display(description="people", ordering="_people")
    def participant_count(self, obj) -> int:
        return obj._people

    @admin.display(description="local time")
    def local_times(self, obj) -> str:
        if not obj.pk:
            return "–"
        return f"{local_time(obj, obj.starts_at)} – {local_time(obj, obj.ends_at)}"

    # --- saving through the services -------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        tz_name = None
        if object_id:
            tz_name = Meeting.objects.filter(pk=object_id).values_list("timezone", flat=True).first()
        with djtz.override(zoneinfo.ZoneInfo(tz_name or settings.TIME_ZONE)):
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except DomainError as error:
                if request.method != "POST":
                    raise
                # The save was rolled back; validate again with the service's answer as a form error.
                setattr(request, DOMAIN_ERROR_ATTR, error)
                return super().changeform_view(request, object_id, form_url, extra_context)

    def create_meeting(self, request, form, fields: dict) -> Meeting:
        """Hook for ``visits.admin``: how a new meeting is created."""
        return services.meeting_create(**fields)

    def after_save(self, request, form, obj: Meeting, change: bool) -> None:
        """Hook for ``visits.admin``: runs after the meeting row is saved, before the inlines."""

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            fields = {f: data[f] for f in MEETING_FORM_FIELDS if f in data}
            fields["timezone"] = fields.get("timezone") or None
            created = self.create_meeting(request, form, fields)
            obj._created_here = True  # its first agenda (saved by the inline next) is not a change: SEQUENCE 0
            for field in Meeting._meta.concrete_fields:
                setattr(obj, field.attname, getattr(created, field.attname))
            obj._state.adding, obj._state.db = False, created._state.db
        else:
            changes = {f: data[f] for f in form.changed_data if f in services.EDITABLE_FIELDS}
            if changes:
                updated = services.meeting_update(meeting=obj, **changes)
                obj.sequence, obj.updated_at = updated.sequence, updated.updated_at
        self.after_save(request, form, obj, change)

    def save_formset(self, request, form, formset, change):
        meeting = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is Participation:
            self._save_participants(meeting, formset)
        elif formset.model is AgendaItem:
            self._save_agenda(meeting, formset)
        else:
            super().save_formset(request, form, formset, change)

    def _save_participants(self, meeting, formset) -> None:
        for f in formset.forms:
            original = Participation.objects.filter(pk=f.instance.pk).select_related("person").first()
            if f in formset.deleted_forms:
                if original is not None:
                    services.participant_remove(meeting=meeting, person=original.person)
                    formset.deleted_objects.append(original)
                continue
            if not f.has_changed() or not f.cleaned_data.get("person"):
                continue
            person, role = f.cleaned_data["person"], f.cleaned_data["role"]
            if original is None:
                formset.new_objects.append(services.participant_add(meeting=meeting, person=person, role=role))
            elif original.person_id != person.pk:
                services.participant_remove(meeting=meeting, person=original.person)
                formset.new_objects.append(services.participant_add(meeting=meeting, person=person, role=role))
            elif original.role != role:
                services.participant_set_role(participation=original, role=role)
                formset.changed_objects.append((original, ["role"]))

    def _save_agenda(self, meeting, formset) -> None:
        if not formset.has_changed():
            return
        rows = []
        for index, f in enumerate(formset.forms):
            data = f.cleaned_data
            if not data or data.get("DELETE") or not data.get("title"):
                continue
            rows.append((data.get("position") or 0, index, services.AgendaSpec(
                title=data["title"], topic=data.get("topic"), presenter=data.get("presenter"),
                minutes=data.get("minutes"), notes=data.get("notes") or "",
            )))
        services.agenda_replace(meeting=meeting, items=[spec for *_, spec in sorted(rows, key=lambda r: r[:2])],
                                initial=getattr(meeting, "_created_here", False))

    # --- actions ---------------------------------------------------------------------------

    @admin.action(description="Cancel selected meetings (participants get a cancellation)")
    def cancel_meetings(self, request, queryset):
        """Asks first (like Django's bulk delete): cancellations reach every participant and cannot be undone."""
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(request, "admin/events/meeting/cancel_confirmation.html", {
                **self.admin_site.each_context(request),
                "title": "Cancel meetings?",
                "meetings": [m for m in queryset.select_related("room") if not m.is_cancelled],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            })
        done = 0
        for meeting in queryset:
            if meeting.is_cancelled:
                continue
            try:
                services.meeting_cancel(meeting=meeting)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{meeting}: {error.message}", messages.ERROR)
        self.message_user(request, f"Cancelled {done} meeting(s).", messages.SUCCESS if done else messages.WARNING)


# --- read-only lists of the rows services write ------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Participation)
class ParticipationAdmin(ReadOnlyAdmin):
    """Who is in which meeting; edit them on the meeting, where the overlap rules apply."""

    list_display = ["person", "meeting", "role", "rsvp", "responded_at", "meeting_start", "blocks_time"]
    list_filter = ["role", "rsvp", "blocks_time", "meeting__status"]
    search_fields = ["person__name", "person__email", "meeting__title"]
    list_select_related = ["person", "meeting"]

    @admin.display(description="meeting starts", ordering="starts_at")
    def meeting_start(self, obj) -> str:
        return local_time(obj.meeting, obj.starts_at)


@admin.register(AgendaItem)
class AgendaItemAdmin(ReadOnlyAdmin):
    list_display = ["title", "meeting", "position", "topic", "presenter", "minutes"]
    list_filter = ["topic"]
    search_fields = ["title", "notes", "meeting__title", "presenter__name"]
    list_select_related = ["meeting", "topic", "presenter"]


@admin.register(MeetingRevision)
class MeetingRevisionAdmin(ReadOnlyAdmin):
    list_display = ["meeting", "sequence", "changes", "created_at"]
    search_fields = ["meeting__title", "meeting__uid"]
    list_select_related = ["meeting"]
