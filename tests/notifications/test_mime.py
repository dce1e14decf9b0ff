"""The invite e-mail's MIME structure, parsed as a client would (interop: iMIP, RFC 6047)."""

from __future__ import annotations

import email
import email.policy

import pytest
from django.core import mail

from notifications import dispatch
from tests.support.ical_checks import assert_valid_ical

pytestmark = pytest.mark.django_db


def wire_messages():
    return [email.message_from_bytes(m.message().as_bytes(linesep="\r\n"), policy=email.policy.default)
            for m in mail.outbox]


def structure(part, depth=0):
    lines = ["  " * depth + part.get_content_type()]
    if part.is_multipart():
        for sub in part.iter_parts():
            lines.extend(structure(sub, depth + 1))
    return lines


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_invite_mail_is_mixed_alternative_with_a_calendar_part_and_the_same_ics_attached(standalone, host, method):
    from events import services as event_services

    meeting = standalone()
    dispatch.dispatch_due()
    if method == "CANCEL":
        mail.outbox.clear()
        event_services.meeting_cancel(meeting=meeting)
        dispatch.dispatch_due()
        meeting.refresh_from_db()
    msg = next(m for m in wire_messages() if host.email in str(m["To"]))
    assert structure(msg) == [
        "multipart/mixed",
        "  multipart/alternative",
        "    text/plain",
        "    text/html",
        "    text/calendar",
        "  application/ics",
    ]
    alternative = next(msg.iter_parts())
    calendar = list(alternative.iter_parts())[2]
    assert calendar.get_param("method") == method
    assert calendar.get_content_charset() == "utf-8"
    data = calendar.get_payload(decode=True)
    attachment = list(msg.iter_parts())[1]
    assert attachment.get_filename() == ("invite.ics" if method == "REQUEST" else "cancel.ics")
    assert attachment.get_payload(decode=True) == data  # byte for byte
    cal = assert_valid_ical(data, method=method)
    assert str(cal["METHOD"]) == method  # MIME method= equals METHOD inside
    event = cal.walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == meeting.sequence
    assert str(event["ATTENDEE"]).lower() == f"mailto:{host.email}"
    assert str(event["ORGANIZER"]).lower().startswith("mailto:visits@")
    assert msg["Message-ID"] and msg["Reply-To"]
    assert str(msg["To"]).endswith(f"<{host.email}>")
    html = list(alternative.iter_parts())[1].get_content()
    assert meeting.title.replace("&", "&amp;") in html


def test_one_mail_per_recipient(standalone, host, guest):
    standalone()
    dispatch.dispatch_due()
    assert sorted(len(m.to) for m in mail.outbox) == [1, 1]
