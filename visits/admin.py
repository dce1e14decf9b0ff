"""Admin for delegations and visits: the coordinator's desk.

Status changes are actions that call ``visits.services`` (so they are checked against the state
machine, cancel the programme and notify people); a refused transition is reported as a message,
never a 500. The Meeting admin (with the visit a meeting belongs to, so a programme can be built
from the visit page without ``events`` knowing that visits exist) is ``admin_meetings``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.timezone import localdate

from core.errors import DomainError
from core.links import link_for, link_register
from core.roles import person_for_user
from directory.models import Person
from events.admin import local_time

from . import (
    admin_meetings,  # noqa: F401  # registers the one Meeting admin
    booking,
    services,
)
from .links import visit_status_url
from .models import Delegation, PreferredWindow, ProgrammeSlot, Visit, VisitMessage
from .programme_document import document_language, programme_filename, programme_response, requested_language

# Mails to coordinators link the visit's admin page; the admin says where that is (core.links).
link_register("visit-admin", lambda visit: reverse("admin:visits_visit_change", args=[visit.pk]))


def acting_person(request) -> Person | None:
    return person_for_user(request.user)


# --- delegations -----------------------------------------------------------------------------


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "lead", "size", "member_count", "visit_count"]
    list_filter = ["organisation__kind", "organisation__country"]
    search_fields = ["name", "organisation__name", "lead__name", "lead__email", "members__name", "members__email"]
    list_select_related = ["organisation", "lead"]
    autocomplete_fields = ["organisation", "lead", "members"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _members=Count("members", distinct=True), _visits=Count("visits", distinct=True)
        )

    @admin.display(description="members", ordering="_members")
    def member_count(self, obj) -> int:
        return obj._members

    @admin.display(description="visits", ordering="_visits")
    def visit_count(self, obj) -> int:
        return obj._visits


# --- visits ----------------------------------------------------------------------------------


class PreferredWindowInline(admin.TabularInline):
    model = PreferredWindow
    fields = ["start", "end"]
    extra = 0


class ProgrammeSlotInline(admin.TabularInline):
    """The programme: attach an existing meeting here, or use "Add a meeting to this programme"."""

    model = ProgrammeSlot
    fields = ["meeting", "starts", "room", "status", "sequence"]
    readonly_fields = ["starts", "room", "status", "sequence"]
    autocomplete_fields = ["meeting"]
    extra = 0
    verbose_name = "programme meeting"
    verbose_name_plural = "programme (removing a row detaches the meeting; cancel it on the meeting page)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("meeting__room")

    @admin.display(description="starts (local)")
    def starts(self, obj) -> str:
        return local_time(obj.meeting, obj.meeting.starts_at) if obj.meeting_id else "–"

    @admin.display(description="room")
    def room(self, obj) -> str:
        return str(obj.meeting.room or obj.meeting.location or "–") if obj.meeting_id else "–"

    @admin.display(description="status")
    def status(self, obj) -> str:
        return obj.meeting.get_status_display() if obj.meeting_id else "–"

    @admin.display(description="SEQUENCE")
    def sequence(self, obj) -> str:
        return str(obj.meeting.sequence) if obj.meeting_id else "–"


class VisitMessageInline(admin.TabularInline):
    """The conversation so far; history is not editable."""

    model = VisitMessage
    fields = readonly_fields = ("created_at", "kind", "from_requester", "body")
    extra = 0
    can_delete = False
    verbose_name_plural = "messages"

    def has_add_permission(self, request, obj=None):
        return False


class NewVisitMessageInline(admin.StackedInline):
    """A coordinator's note, written through ``visit_message_add``."""

    model = VisitMessage
    fields = ["kind", "body"]
    extra = 1
    max_num = 1
    can_delete = False
    verbose_name = "new note"
    verbose_name_plural = "add a note"

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ["reference", "delegation", "organisation", "status", "starts_on", "ends_on", "contact",
                    "coordinator", "programme_size", "requested_at"]
    list_filter = ["status", ("starts_on", admin.DateFieldListFilter), "host_organisation", "topics", "language"]
    search_fields = ["reference", "delegation__name", "delegation__organisation__name", "contact__name",
                     "contact__email", "purpose"]
    list_select_related = ["delegation__organisation", "contact", "coordinator"]
    date_hierarchy = "requested_at"
    autocomplete_fields = ["delegation", "contact", "host_organisation", "venue", "coordinator"]
    filter_horizontal = ["topics"]
    readonly_fields = ["reference", "status", "links", "add_meeting", "requested_at", "confirmed_at", "closed_at",
                       "updated_at", "status_token", "feed_token", "programme_sent_at", "programme_document"]
    fieldsets = [
        (None, {"fields": ["reference", "status", "delegation", "contact", "host_organisation", "venue",
                           "coordinator"]}),
        ("Request", {"fields": ["topics", "purpose", "language"]}),
        ("Dates", {
            "fields": ["timezone", "starts_on", "ends_on"],
            "description": "Fill in the dates before “Confirm” to use them; otherwise the first preferred "
                           "window is taken.",
        }),
        ("Decision", {"fields": ["decision_note", "confirmed_at", "closed_at", "updated_at"],
                      "description": "The decision note is sent as the reason with “Decline” and “Cancel”."}),
        ("Programme and links", {
            "fields": ["add_meeting", "delegation_mail", "programme_sent_at", "programme_document", "links", "status_token",
                       "feed_token"],
            "description": "The delegation gets the programme in one mail (PDF and calendar file) when a proposal is "
                           "accepted or with the action “Send programme”; each later change is one update mail.",
        }),
    ]
    inlines = [PreferredWindowInline, ProgrammeSlotInline, VisitMessageInline, NewVisitMessageInline]
    actions = ["confirm_visits", "decline_visits", "cancel_visits", "complete_visits", "send_programme",
               "programme_pdf", "rotate_status_links", "rotate_feed_links"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_programme=Count("programme", distinct=True))

    @admin.display(description="organisation", ordering="delegation__organisation__name")
    def organisation(self, obj) -> str:
        return obj.delegation.organisation.name

    @admin.display(description="meetings", ordering="_programme")
    def programme_size(self, obj) -> int:
        return obj._programme

    @admin.display(description="requester links")
    def links(self, obj) -> str:
        if not obj.pk:
            return "–"
        return format_html('<a href="{0}">status page</a> · <a href="{1}">programme feed</a>',
                           visit_status_url(obj), link_for("visit-feed", obj))

    @admin.display(description="programme document")
    def programme_document(self, obj) -> str:
        if not obj.pk:
            return "–"
        url = reverse("admin:visits_visit_programme", args=[obj.pk])
        return format_html('<a href="{0}?lang=en">PDF (English)</a> · <a href="{0}?lang=de">PDF (Deutsch)</a>', url)

    def get_urls(self):
        return [
            path("<int:pk>/programme.pdf", self.admin_site.admin_view(self.programme_pdf_view),
                 name="visits_visit_programme"),
            *super().get_urls(),
        ]

    def programme_pdf_view(self, request, pk: int):
        visit = self.get_object(request, str(pk))
        if visit is None or not self.has_view_permission(request, visit):
            raise Http404
        try:
            lang = document_language(requested_language(request.GET.get("lang")), visit.language)
        except DomainError as error:
            return HttpResponseBadRequest(error.message, content_type="text/plain; charset=utf-8")
        return programme_response(request, visit, lang=lang, fmt="pdf")

    @admin.display(description="new programme meeting")
    def add_meeting(self, obj) -> str:
        if not obj.pk:
            return "Save the visit first."
        if not booking.programme_is_open(obj):
            return f"The programme is closed ({obj.get_status_display().lower()})."
        url = reverse("admin:events_meeting_add") + f"?visit={obj.pk}"
        return format_html('<a href="{}">Add a meeting to this programme</a>', url)

    # --- saving ----------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            # A request phoned or mailed in: same reference series as the public form.
            obj.reference = services.visit_reference_next(localdate().year)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        visit = form.instance
        if formset.model is ProgrammeSlot:
            self._save_programme(visit, formset)
        elif formset.model is VisitMessage:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for f in formset.forms:
                if f.has_changed() and f.cleaned_data.get("body"):
                    formset.new_objects.append(services.visit_message_add(
                        visit=visit, body=f.cleaned_data["body"], kind=f.cleaned_data["kind"], from_requester=False,
                    ))
        else:
            super().save_formset(request, form, formset, change)

    def _save_programme(self, visit, formset) -> None:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for f in formset.forms:
            original = ProgrammeSlot.objects.filter(pk=f.instance.pk).first()
            if f in formset.deleted_forms:
                if original is not None:
                    booking.meeting_change(meeting=original.meeting, visit=None, booker=booking.COORDINATOR)
                    formset.deleted_objects.append(original)
                continue
            meeting = f.cleaned_data.get("meeting") if f.has_changed() else None
            if meeting is None:
                continue
            if original is not None and original.meeting_id != meeting.pk:
                booking.meeting_change(meeting=original.meeting, visit=None, booker=booking.COORDINATOR)
            booking.meeting_change(meeting=meeting, visit=visit, booker=booking.COORDINATOR)
            formset.new_objects.append(ProgrammeSlot.objects.get(meeting=meeting))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:  # e.g. a note on a closed visit; the save was rolled back
            if request.method != "POST":
                raise
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    # --- status actions --------------------------------------------------------------------

    def _transition(self, request, queryset, verb: str, call) -> None:
        done = []
        for visit in queryset.select_related("delegation"):
            try:
                call(visit)
                done.append(visit.reference)
            except DomainError as error:
                self.message_user(request, f"{visit.reference}: {error.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{verb}: {', '.join(done)}.", messages.SUCCESS)

    @admin.action(description="Confirm selected requests (their dates, or the first preferred window)")
    def confirm_visits(self, request, queryset):
        by = acting_person(request)
        self._transition(request, queryset, "Confirmed", lambda v: services.visit_confirm(
            visit=v, by=by, starts_on=v.starts_on, ends_on=v.ends_on if v.starts_on else None,
        ))

    @admin.action(description="Decline selected requests (the decision note is the reason)")
    def decline_visits(self, request, queryset):
        by = acting_person(request)
        self._transition(request, queryset, "Declined",
                         lambda v: services.visit_decline(visit=v, by=by, reason=v.decision_note))

    @admin.action(description="Cancel selected visits and their programme")
    def cancel_visits(self, request, queryset):
        by = acting_person(request)
        self._transition(request, queryset, "Cancelled",
                         lambda v: services.visit_cancel(visit=v, by=by, reason=v.decision_note))

    @admin.action(description="Mark selected visits as completed")
    def complete_visits(self, request, queryset):
        by = acting_person(request)
        self._transition(request, queryset, "Completed", lambda v: services.visit_complete(visit=v, by=by))

    # --- the programme -------------------------------------------------------------------------

    @admin.action(description="Send programme to the delegation (one mail each: PDF and calendar file)")
    def send_programme(self, request, queryset):
        by = acting_person(request)
        self._transition(request, queryset, "Programme sent",
                         lambda v: services.visit_programme_send(visit=v, by=by))

    @admin.action(description="Programme as PDF (one visit; in the visit's language)")
    def programme_pdf(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one visit for its programme PDF.", messages.WARNING)
            return None
        visit = queryset.get()
        response = programme_response(request, visit, lang=document_language(visit.language), fmt="pdf")
        response["Content-Disposition"] = f'attachment; filename="{programme_filename(visit, visit.language)}"'
        return response

    # --- link rotation -------------------------------------------------------------------------

    @admin.action(description="Replace the requester's status link (the old one answers 404)")
    def rotate_status_links(self, request, queryset):
        done = [services.visit_rotate_status_token(visit=v).reference for v in queryset]
        self.message_user(request, f"New status link for {', '.join(done)}; pass it on to the requester "
                                   "(see “requester links” on the visit).", messages.SUCCESS)

    @admin.action(description="Replace the programme feed link (subscribers of the old one must re-subscribe)")
    def rotate_feed_links(self, request, queryset):
        done = [services.visit_rotate_feed_token(visit=v).reference for v in queryset]
        self.message_user(request, f"New programme feed link for {', '.join(done)}.", messages.SUCCESS)


@admin.register(VisitMessage)
class VisitMessageAdmin(admin.ModelAdmin):
    """Every message across visits, e.g. to find open reschedule requests."""

    list_display = ["visit", "kind", "from_requester", "created_at", "short_body"]
    list_filter = ["kind", "from_requester", "visit__status"]
    search_fields = ["body", "visit__reference", "visit__delegation__name"]
    list_select_related = ["visit__delegation"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="message")
    def short_body(self, obj) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"
