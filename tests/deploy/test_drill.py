"""The drill's own verdicts (deploy/drill.py): a feed that is wrong must be reported as wrong.

The drill itself runs in CI as ``make drill`` and ``make drill-compose`` (minutes, several processes);
these checks keep its comparison honest without starting anything.
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage

import icalendar

from deploy.drill import beat_ticks, calendar_events, feed_differences, parse_mark


def _event(uid: str, sequence: int, status: str = "CONFIRMED") -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("SEQUENCE", sequence)
    event.add("STATUS", status)
    return event


MEETINGS = {
    "a@x": {"id": 1, "sequence": 2, "status": "scheduled"},
    "b@x": {"id": 2, "sequence": 1, "status": "cancelled"},
}


def test_a_consistent_feed_passes():
    events = {"a@x": _event("a@x", 2), "b@x": _event("b@x", 1, "CANCELLED")}
    assert feed_differences(events, MEETINGS, "feed") == []
    # A cancelled meeting may also have left the feed.
    assert feed_differences({"a@x": _event("a@x", 2)}, MEETINGS, "feed") == []


def test_missing_stale_wrong_status_and_extra_events_are_reported():
    assert feed_differences({}, MEETINGS, "feed") == ["feed: meeting 1 missing"]
    stale = feed_differences({"a@x": _event("a@x", 1)}, MEETINGS, "feed")
    assert stale == ["feed: meeting 1 SEQUENCE 1 ≠ 2"]
    still_on = feed_differences({"a@x": _event("a@x", 2), "b@x": _event("b@x", 1)}, MEETINGS, "feed")
    assert still_on == ["feed: meeting 2 STATUS CONFIRMED ≠ CANCELLED"]
    extra = feed_differences({"a@x": _event("a@x", 2), "z@x": _event("z@x", 0)}, MEETINGS, "feed")
    assert extra == ["feed: 1 events that should not be there"]
    assert feed_differences({}, {"b@x": MEETINGS["b@x"]}, "link", allow_absent_cancelled=False) == ["link: meeting 2 missing"]


def test_calendar_parts_of_a_mail_are_read():
    cal = icalendar.Calendar()
    cal.add("VERSION", "2.0")
    event = _event("a@x", 3)
    event.add("URL", "https://host/calendars/meetings/1/t.ics")
    cal.add_component(event)
    message = EmailMessage(policy=email.policy.default)
    message.set_content("hello")
    message.add_attachment(cal.to_ical(), maintype="text", subtype="calendar", filename="invite.ics")
    assert calendar_events(message) == [("a@x", 3, "CONFIRMED", "https://host/calendars/meetings/1/t.ics")]


def test_helpers():
    assert parse_mark("noise\nDRILL-JSON [1, 2]\n") == [1, 2]
    log = "Scheduler: Sending due task dispatch-outbox (notifications.dispatch_due)\n" * 3
    assert beat_ticks(log + "Sending due task recover-stuck-sending") == 3


def _mail(key: str, at: float, peer: tuple = ("127.0.0.1", 40001)):
    from deploy.drill import Received

    return Received(peer=peer, key=key, message_id="", rcpt="a@x", kind=key.split(":", 1)[0], at=at,
                    message=EmailMessage())


def test_the_killed_workers_one_message_in_flight_may_arrive_again_and_nothing_else_may():
    from deploy.drill import resend_verdict

    in_flight = {"reminder:1", "reminder:2", "reminder:3"}
    kill = 10.0
    # The window: handed over before the kill, its row left in sending, sent again after recovery.
    window = [_mail("reminder:1", 9.9), _mail("reminder:1", 80.0), _mail("reminder:9", 5.0)]
    assert resend_verdict(window, in_flight=in_flight, killed_at=kill) == ([], ["reminder:1"])
    # One per process: two connections of the killed worker may each have had one in flight.
    two = [*window, _mail("reminder:2", 9.95, peer=("127.0.0.1", 40002)), _mail("reminder:2", 81.0)]
    assert resend_verdict(two, in_flight=in_flight, killed_at=kill) == ([], ["reminder:1", "reminder:2"])

    def fails(received):
        return bool(resend_verdict(received, in_flight=in_flight, killed_at=kill)[0])

    # Two in flight on one connection; a row nobody left in sending; both copies before the kill;
    # three copies; no kill at all: each is a real duplicate.
    assert fails([*window, _mail("reminder:2", 9.95), _mail("reminder:2", 81.0)])
    assert fails([_mail("invite:7", 9.9), _mail("invite:7", 80.0)])
    assert fails([_mail("reminder:1", 3.0), _mail("reminder:1", 9.0)])
    assert fails([*window, _mail("reminder:1", 82.0)])
    assert resend_verdict(window, in_flight=in_flight, killed_at=None)[0]
