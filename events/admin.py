"""Admin for venues, rooms and events, and read-only lists of the rows the meeting services write.

The Meeting admin itself is ``visits.admin_meetings``: registered once, in the lowest app that knows
meetings, programmes and availability (see docs/architecture.md, "Admin").
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Min
from django.urls import reverse
from django.utils.html import format_html

from .models import AgendaItem, Event, Meeting, MeetingRevision, Participation, Room, Venue


def local_time(meeting: Meeting, value) -> str:
    if value is None:
        return "–"
    try:
        zone = zoneinfo.ZoneInfo(meeting.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return f"{value.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"


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
