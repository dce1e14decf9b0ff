"""Reads of the schedule. Querysets come back with what their callers render already joined."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from directory.models import Person

from .models import AgendaItem, Event, Meeting, Participation


def meeting_conflicts(
    *,
    starts_at: datetime,
    ends_at: datetime,
    room_id: int | None,
    person_ids: list[int],
    exclude_meeting_id: int | None = None,
) -> list[Meeting]:
    """Scheduled meetings that overlap [starts_at, ends_at) in the room or for a blocking person.

    Each returned meeting has ``conflict_reason`` set, in the active language ("Lab 1 is booked" /
    "Dr. X is also in it").
    """
    found: dict[int, Meeting] = {}
    if room_id is not None:
        for m in (
            Meeting.objects.filter(status=Meeting.Status.SCHEDULED, room_id=room_id,
                                   starts_at__lt=ends_at, ends_at__gt=starts_at)
            .exclude(pk=exclude_meeting_id)  # type: ignore[misc]  # None excludes nothing
            .select_related("room")
        ):
            m.conflict_reason = gettext("%(room)s is booked") % {"room": m.room.name if m.room else ""}
            found[m.pk] = m
    if person_ids:
        for p in (
            Participation.objects.filter(blocks_time=True, person_id__in=person_ids,
                                         starts_at__lt=ends_at, ends_at__gt=starts_at)
            .exclude(meeting_id=exclude_meeting_id)  # type: ignore[misc]  # None excludes nothing
            .select_related("meeting", "person")
        ):
            m = found.setdefault(p.meeting_id, p.meeting)
            if not hasattr(m, "conflict_reason"):
                m.conflict_reason = gettext("%(person)s is also in it") % {"person": p.person.name}
    return sorted(found.values(), key=lambda m: (m.starts_at, m.pk))


def meeting_list(*, include_cancelled: bool = True) -> QuerySet[Meeting]:
    """Meetings with everything a list, a feed or an invite renders, in a constant number of queries."""
    qs = Meeting.objects.select_related("room__venue", "event").prefetch_related(
        Prefetch("agenda_items", queryset=AgendaItem.objects.select_related("topic", "presenter")),
        Prefetch("participations", queryset=Participation.objects.select_related("person").order_by("role", "person__name")),
    )
    if not include_cancelled:
        qs = qs.filter(status=Meeting.Status.SCHEDULED)
    return qs


def feed_window_q() -> Q:
    """Scheduled meetings, and cancelled ones for a while so subscribers see STATUS:CANCELLED."""
    keep_since = timezone.now() - timedelta(days=settings.VISITDESK_CANCELLED_IN_FEEDS_DAYS)
    return Q(status=Meeting.Status.SCHEDULED) | Q(status=Meeting.Status.CANCELLED, cancelled_at__gte=keep_since)


def meetings_for_person(*, person: Person) -> QuerySet[Meeting]:
    return meeting_list().filter(participations__person=person).filter(feed_window_q()).distinct()


def public_meetings() -> QuerySet[Meeting]:
    return meeting_list().filter(event__is_public=True).filter(feed_window_q())


def meetings_visible_to_person(*, person: Person) -> QuerySet[Meeting]:
    """What a host may see: the meetings they take part in."""
    return Meeting.objects.filter(participations__person=person).distinct()


def upcoming_public_events(*, now: datetime | None = None) -> QuerySet[Event]:
    """Public events with a scheduled meeting still to come, soonest first.

    Each event carries ``next_starts_at`` and ``upcoming_meetings`` (its scheduled, not yet ended
    meetings in order), so a listing renders without a query per event.
    """
    now = now or timezone.now()
    upcoming = Q(meetings__status=Meeting.Status.SCHEDULED, meetings__ends_at__gt=now)
    return (
        Event.objects.filter(is_public=True)
        .annotate(next_starts_at=Min("meetings__starts_at", filter=upcoming))
        .filter(next_starts_at__isnull=False)
        .select_related("venue")
        .prefetch_related(
            "topics",
            Prefetch(
                "meetings",
                queryset=Meeting.objects.filter(status=Meeting.Status.SCHEDULED, ends_at__gt=now)
                .select_related("room__venue")
                .order_by("starts_at"),
                to_attr="upcoming_meetings",
            ),
        )
        .order_by("next_starts_at", "title")
    )


def event_list(*, public_only: bool = True) -> QuerySet[Event]:
    """Events with their venue, topics and (feed-visible) meetings joined, in a constant number of queries."""
    meetings = Meeting.objects.filter(feed_window_q()).select_related("room__venue").order_by("starts_at", "id")
    qs = Event.objects.select_related("venue").prefetch_related("topics", Prefetch("meetings", queryset=meetings))
    return qs.filter(is_public=True) if public_only else qs


def meeting_version(meeting: Meeting) -> str:
    """An opaque version of everything stored about a meeting, for HTTP ETag / If-Match.

    SEQUENCE alone will not do: it does not rise when participants change (their invites list only
    themselves). ``updated_at`` moves on every write — fields, agenda, participants, RSVPs,
    cancellation — so (id, sequence, updated_at in microseconds) changes whenever a planner's copy
    goes stale.
    """
    stamp = int(meeting.updated_at.timestamp() * 1_000_000)
    return f"{meeting.pk}.{meeting.sequence}.{stamp:x}"
