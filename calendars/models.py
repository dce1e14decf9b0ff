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
