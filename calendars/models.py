"""The fragment store: each meeting's VEVENTs as rendered, so feeds join stored bytes."""

from __future__ import annotations

from django.db import models


class MeetingICal(models.Model):
    """A meeting's VEVENT as rendered by ``calendars.ical`` for each audience, so feeds join stored bytes.

    Valid while ``rendered_for`` equals the meeting's ``updated_at`` and ``version`` matches the
    renderer; anything else is rendered again on the next feed read. Kept apart from ``Meeting`` so
    the cache never shows up in forms, serializers or the admin.
    """

    meeting = models.OneToOneField("events.Meeting", on_delete=models.CASCADE, related_name="ical", primary_key=True)
    version = models.CharField(max_length=32)
    rendered_for = models.DateTimeField()
    public = models.TextField()
    private = models.TextField()

    class Meta:
        db_table = "events_meetingical"  # moved from events without moving the table (docs/architecture.md)


class RenderRequest(models.Model):
    """The one "render what is stale" task that is queued and not yet started (``calendars.render_queue``).

    A single row (``pk=1``): ``queued_at`` is set by whoever queues the task and cleared by the task
    when it starts, so ten thousand commits (or subscribers polling a feed that is still being
    prepared) while a render is waiting queue nothing more. Kept in the database rather than the
    cache because web and worker processes must agree on it whatever their cache key prefix.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    queued_at = models.DateTimeField(null=True, blank=True)
