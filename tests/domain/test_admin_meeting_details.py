"""Admin details a newcomer met: a new meeting starts at SEQUENCE 0 (also with an agenda), revisions
read as what changed, bulk cancel asks first, the agenda inline fits, the admin has a favicon."""

from __future__ import annotations

import pytest
from django.urls import reverse

from events import services as event_services
from events.models import Meeting, MeetingRevision
from tests.factories import PersonFactory, RoomFactory

from .test_admin import NINE, TEN, R, coordinator, meeting_post  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def test_a_meeting_added_with_its_agenda_starts_at_sequence_0(client, coordinator):  # noqa: F811
    response = client.post(reverse("admin:events_meeting_add"), meeting_post(
        room=RoomFactory(), participants=[(PersonFactory(), R.HOST)], agenda=[("Stem cells", 20)],
    ))
    assert response.status_code == 302, response.content.decode()[:2000]
    meeting = Meeting.objects.get()
    assert meeting.sequence == 0 and not meeting.revisions.exists()
    assert list(meeting.agenda_items.values_list("title", flat=True)) == ["Stem cells"]


def test_revisions_have_readable_labels():
    meeting = event_services.meeting_create(title="Lab tour", starts_at=NINE, ends_at=TEN)
    event_services.meeting_update(meeting=meeting, starts_at=TEN, ends_at=TEN.replace(hour=TEN.hour + 1))
    revision = MeetingRevision.objects.get()
    assert str(revision) == "Lab tour · SEQUENCE 1 (ends_at, starts_at)"


def test_admin_pages_have_the_favicon_and_the_inline_styles(client, coordinator):  # noqa: F811
    page = client.get(reverse("admin:events_meeting_add")).content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
    assert "events/admin.css" in page


def test_line_breaks_in_a_title_typed_in_the_admin_are_normalised(client, coordinator):  # noqa: F811
    post = meeting_post(room=RoomFactory())
    post["title"] = "Lab\r\nBcc: someone@evil.example"
    response = client.post(reverse("admin:events_meeting_add"), post)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Meeting.objects.get().title == "Lab Bcc: someone@evil.example"
