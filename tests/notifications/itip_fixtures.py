"""Calendar clients' answers, as they send them, aimed at a meeting of the test.

The fixtures in ``fixtures/itip/`` are whole messages in each client's shape (``generate.py`` wrote
them; each names its public source in ``X-Fixture-Source``). They hold ``{{TOKENS}}`` where the
meeting's UID, SEQUENCE, times and people go; ``client_reply`` decodes every part (base64,
quoted-printable, 8bit; UTF-8 or Windows-1252), fills the tokens and encodes it again the same way,
so the shape that reaches Visitdesk is the client's.
"""

from __future__ import annotations

import base64
import quopri
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "itip"
CLIENTS = ("outlook_accept.eml", "gmail_decline.eml", "apple_tentative.eml", "thunderbird_accept.eml")
#: What each client's answer says, in Visitdesk's words.
ANSWER = {"outlook_accept.eml": "accepted", "gmail_decline.eml": "declined", "apple_tentative.eml": "tentative",
          "thunderbird_accept.eml": "accepted"}


def _basic(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def values_for(meeting, *, attendee: str, sequence: int | None = None, sender: str | None = None,
               other: str = "someone@else.example.org", delegate: str = "petra.lang@example.org",
               organizer: str = "visits@testserver", new_start: datetime | None = None,
               stamp: datetime | None = None) -> dict[str, str]:
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    new_start = new_start or meeting.starts_at + timedelta(hours=1)
    new_end = new_start + (meeting.ends_at - meeting.starts_at)
    stamp = stamp or datetime.now(UTC)
    return {
        "UID": meeting.uid, "SEQ": str(meeting.sequence if sequence is None else sequence),
        "STAMP": stamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "TITLE": meeting.title, "TITLE_Q": meeting.title.replace(" ", "_"),
        "ATTENDEE": attendee, "ATTENDEE_MIXED": attendee.upper() if "@" in attendee else attendee,
        "FROM": sender if sender is not None else attendee, "OTHER": other, "DELEGATE": delegate,
        "ORGANIZER": organizer, "MSGID": f"{uuid.uuid4().hex}@client.example",
        "START_LOCAL": _basic(meeting.starts_at.astimezone(berlin)),
        "END_LOCAL": _basic(meeting.ends_at.astimezone(berlin)),
        "START_UTC": meeting.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "END_UTC": meeting.ends_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "NEW_START_LOCAL": _basic(new_start.astimezone(berlin)), "NEW_END_LOCAL": _basic(new_end.astimezone(berlin)),
    }


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def client_reply(name: str, meeting, **kwargs) -> bytes:
    """The fixture ``name`` aimed at ``meeting`` (see ``values_for`` for the keywords)."""
    values = values_for(meeting, **kwargs)
    msg = message_from_bytes((FIXTURES / name).read_bytes(), policy=email_policy.compat32)
    for key in ("From", "To", "Subject", "Message-ID", "Message-Id"):
        if msg[key] is not None:
            msg.replace_header(key, _fill(str(msg[key]), values))
    for part in msg.walk():
        if part.is_multipart():
            continue
        encoding = (part.get("Content-Transfer-Encoding") or "7bit").lower()
        charset = part.get_content_charset() or "utf-8"
        data = _fill(part.get_payload(decode=True).decode(charset), values).encode(charset)
        if encoding == "base64":
            part.set_payload(base64.encodebytes(data).decode("ascii"))
        elif encoding == "quoted-printable":
            part.set_payload(quopri.encodestring(data).decode("ascii"))
        else:
            part.set_payload(data.decode("ascii", "surrogateescape"))  # 8bit: the bytes as they are
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
