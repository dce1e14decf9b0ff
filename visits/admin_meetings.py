"""The one Meeting admin: meetings, their participants and agenda, and the programme they belong to.

It lives in ``visits`` because that is the lowest app that knows meetings (``events``), programmes
(``visits``) and availability (``availability``): registered once, here, with no unregister-and-
replace. Like every ``<app>/admin.py`` it is an interface that happens to sit inside an app: it may
import its own app and the apps below it (services for writes, selectors for reads), may reverse
``admin:`` names, and never imports DRF or ``web``.

A meeting saved here is exactly like one saved through the API: the whole save — the meeting, its
participants and agenda, its programme, the "book against availability" box — is one call to
``visits.booking`` (``meeting_create`` / ``meeting_change``), the module every interface books
through, so a change of time or room raises SEQUENCE, the delegation blocks its time, availability
is checked and an override recorded exactly as for the API. Cancelling sends a CANCEL instead of
deleting the row. Before that, the forms ask the same rules for errors on their fields:

* times and the room's opening hours: ``events.services.meeting_times_check`` (on the field);
* the room's overlaps: ``events.services.meeting_overlap_check`` (on the room);
* the people's overlaps and availability: ``visits.booking.meeting_check`` (on the participants).

What only the write can find out (a booking committed meanwhile) is shown as an error message after
the save was rolled back, never a 500.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone as djtz
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from events import services as event_services
from events.admin import local_time
from events.errors import ScheduleConflict
from events.models import AgendaItem, Meeting, MeetingRevision, Participation

from . import booking, rules
from .models import ProgrammeSlot, Visit

#: The meeting fields the admin form edits; all of them go through ``meeting_create``/``meeting_update``.
MEETING_FORM_FIELDS = ["title", "kind", "event", "starts_at", "ends_at", "timezone", "room", "location",
                       "online_url", "description"]


def describe_conflicts(conflicts) -> str:
    parts = []
    for m in conflicts:
        local = m.starts_at.astimezone(zoneinfo.ZoneInfo(m.timezone))
        parts.append(f"“{m.title}” on {local:%Y-%m-%d %H:%M} ({getattr(m, 'conflict_reason', 'overlap')})")
    return "Overlaps with " + "; ".join(parts) + "."


def https_formfield(field, **kwargs):
    """Django 5.x warns unless a URL field says which scheme a bare "example.org" gets."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


def _meeting_zone(cleaned: dict, meeting: Meeting) -> str:
    """The zone ``meeting_create`` would pick: typed, else the room's venue's, else the default."""
    room, event = cleaned.get("room"), cleaned.get("event")
    return (cleaned.get("timezone") or meeting.timezone or (room.venue.timezone if room else None)
            or (event.venue.timezone if event and event.venue else None) or settings.VISITDESK_DEFAULT_TIMEZONE)


class MeetingForm(forms.ModelForm):
    visit = forms.ModelChoiceField(
        queryset=Visit.objects.filter(status__in=booking.OPEN_PROGRAMME_STATES).select_related("delegation"),
        required=False,
        help_text="Put the meeting into this visit's programme (requested or confirmed visits).",
    )
    override_availability = forms.BooleanField(
        required=False,
        label=_("Book anyway"),
        help_text=_("Book even though a participant is outside working hours, absent or busy, or the room is "
                    "closed; the meeting records it."),
    )

    class Meta:
        model = Meeting
        fields = MEETING_FORM_FIELDS
        formfield_callback = https_formfield

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        slot = ProgrammeSlot.objects.filter(meeting_id=self.instance.pk).select_related("visit").first()
        if slot is not None:
            self.fields["visit"].queryset = Visit.objects.filter(pk=slot.visit_id) | self.fields["visit"].queryset
            self.initial.setdefault("visit", slot.visit_id)

    def clean(self):
        cleaned = super().clean()
        meeting = self.instance
        if meeting.pk and meeting.is_cancelled:
            if self.has_changed():
                raise ValidationError("A cancelled meeting cannot be changed; create a new one.",
                                      code="meeting_cancelled")
            return cleaned
        starts, ends, room = cleaned.get("starts_at"), cleaned.get("ends_at"), cleaned.get("room")
        if starts is None or ends is None:
            return cleaned
        try:
            event_services.meeting_times_check(starts_at=starts, ends_at=ends, timezone=_meeting_zone(cleaned, meeting),
                                               room=room)
            if room is not None:
                event_services.meeting_overlap_check(starts_at=starts, ends_at=ends, room_id=room.pk, person_ids=[],
                                                     exclude_meeting_id=meeting.pk)
        except ScheduleConflict as error:
            self.add_error("room", describe_conflicts(error.meetings) if error.meetings else error.message)
        except DomainError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


class ParticipationFormSet(forms.BaseInlineFormSet):
    """Asks the booking module what it would refuse about the people, at the meeting's (possibly new)
    time, so the refusal shows on the form before anything is saved.

    ``self.instance`` already carries the main form's new time and room; the visit and the override
    box come from the main form's POST (``MeetingAdmin.get_formset_kwargs``).
    """

    def __init__(self, *args, visit_id=None, override_availability=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.visit_id = visit_id
        self.override_availability = override_availability

    def participant_specs(self) -> list[booking.ParticipantSpec]:
        """The participant list as the forms now say (rows marked for deletion left out)."""
        return [booking.ParticipantSpec(person=f.cleaned_data["person"], role=f.cleaned_data.get("role")
                                        or Participation.Role.GUEST)
                for f in self.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("person")]

    def clean(self):
        super().clean()
        meeting = self.instance
        if not meeting.starts_at or not meeting.ends_at or meeting.ends_at <= meeting.starts_at:
            return
        if meeting.status != Meeting.Status.SCHEDULED:
            return
        visit = Visit.objects.filter(pk=self.visit_id).first() if self.visit_id else None
        try:
            booking.meeting_check(meeting=meeting, starts_at=meeting.starts_at, ends_at=meeting.ends_at,
                                  room=meeting.room, participants=self.participant_specs(), visit=visit,
                                  override=self.override_availability, booker=booking.COORDINATOR)
        except ScheduleConflict as error:
            raise ValidationError(describe_conflicts(error.meetings) if error.meetings else error.message) from None
        except DomainError as error:
            raise ValidationError(error.message, code=error.code) from None


def _agenda_specs(formset) -> list[booking.AgendaSpec]:
    """The agenda as the inline now says, in the order of its positions (then rows)."""
    rows = []
    for index, f in enumerate(formset.forms):
        data = f.cleaned_data
        if not data or data.get("DELETE") or not data.get("title"):
            continue
        rows.append((data.get("position") or 0, index, booking.AgendaSpec(
            title=data["title"], topic=data.get("topic"), presenter=data.get("presenter"),
            minutes=data.get("minutes"), notes=data.get("notes") or "",
        )))
    return [spec for *_, spec in sorted(rows, key=lambda r: r[:2])]


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
    list_display = ["title", "when", "until", "room", "kind", "status", "sequence", "event", "participant_count",
                    "visit"]
    list_filter = ["status", "kind", ("starts_at", admin.DateFieldListFilter), "room__venue", "event",
                   "programme_slot__visit__status"]
    search_fields = ["title", "uid", "description", "room__name", "location", "participants__name",
                     "participants__email", "programme_slot__visit__reference"]
    date_hierarchy = "starts_at"
    list_select_related = ["room__venue", "event", "programme_slot__visit"]
    autocomplete_fields = ["room", "event"]
    readonly_fields = ["uid", "sequence", "status", "cancelled_at", "created_at", "updated_at", "local_times",
                       "booked_against_availability"]
    fieldsets = [
        (None, {"fields": ["title", "kind", "visit", "event", "description"]}),
        ("When and where", {
            "fields": ["starts_at", "ends_at", "timezone", "local_times", "room", "location", "online_url",
                       "override_availability", "booked_against_availability"],
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

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_cancelled:
            readonly += [f for f in [*MEETING_FORM_FIELDS, "visit", "override_availability"] if f not in readonly]
        return readonly

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, ParticipationInline) and request.method == "POST":
            # The participants are checked with the main form's visit and override box.
            slot = ProgrammeSlot.objects.filter(meeting_id=obj.pk).first() if obj.pk else None
            visit_id = request.POST.get("visit") if "visit" in request.POST else (slot.visit_id if slot else None)
            kwargs["visit_id"] = int(visit_id) if str(visit_id or "").isdigit() else None
            kwargs["override_availability"] = request.POST.get("override_availability") in ("on", "true", "1")
        return kwargs

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

    @admin.display(description="visit", ordering="programme_slot__visit__reference")
    def visit(self, obj) -> str:
        slot = getattr(obj, "programme_slot", None)
        return slot.visit.reference if slot else "–"

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
                # Only the write could tell (e.g. a booking committed meanwhile); the whole save was
                # rolled back. Say why and show the page again.
                self.message_user(request, f"Not saved: {error.message}", messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        """Nothing is written yet: the meeting with its participants and agenda is one booking, made in
        ``save_related`` once the inlines are known (one call to ``visits.booking``, one transaction)."""

    def save_related(self, request, form, formsets, change):
        data = form.cleaned_data
        people = next(fs for fs in formsets if fs.model is Participation)
        agenda = next(fs for fs in formsets if fs.model is AgendaItem)
        override = bool(data.get("override_availability"))
        meeting = form.instance
        if not change:
            fields = {f: data[f] for f in MEETING_FORM_FIELDS if f in data}
            fields["timezone"] = fields.get("timezone") or None
            created = booking.meeting_create(visit=data.get("visit"), participants=people.participant_specs(),
                                             agenda_items=_agenda_specs(agenda), override=override,
                                             booker=booking.COORDINATOR, **fields)
            for field in Meeting._meta.concrete_fields:  # the admin redirects to and logs this object
                setattr(meeting, field.attname, getattr(created, field.attname))
            meeting._state.adding, meeting._state.db = False, created._state.db
        else:
            updated = booking.meeting_change(
                meeting=meeting,
                changes={f: data[f] for f in form.changed_data if f in event_services.EDITABLE_FIELDS},
                participants=people.participant_specs() if people.has_changed() else None,
                agenda_items=_agenda_specs(agenda) if agenda.has_changed() else None,
                visit=data.get("visit") if "visit" in form.changed_data else booking.UNCHANGED,
                override=override, booker=booking.COORDINATOR,
            )
            meeting.sequence, meeting.updated_at = updated.sequence, updated.updated_at
        for formset in formsets:  # written above, not by the formsets themselves
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        self._warn_about_rules(request, meeting)

    def _warn_about_rules(self, request, meeting: Meeting) -> None:
        """A saved edit may break a rule of the visit's programme (``visits.rules``): it stays saved, and
        the coordinator reads which rules the programme now breaks."""
        results = rules.meeting_check(meeting, language=translation.get_language())
        broken = rules.broken(results or [])
        if broken:
            self.message_user(request, "The programme now breaks these rules: " + " ".join(
                v.message for v in broken), messages.WARNING)

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
                booking.meeting_cancel(meeting=meeting)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{meeting}: {error.message}", messages.ERROR)
        self.message_user(request, f"Cancelled {done} meeting(s).", messages.SUCCESS if done else messages.WARNING)

