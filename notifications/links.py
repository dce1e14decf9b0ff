"""Signed links in mails: answer an invite, stop reminders.

The links carry ids signed with ``django.core.signing`` (HMAC with SECRET_KEY and a per-purpose
salt), so they need no stored token and cannot be forged or re-targeted at another meeting or
person. Rotating SECRET_KEY revokes them all; an RSVP link also dies when the person is no longer a
participant or the meeting has ended.
"""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from events.links import absolute

RSVP_SALT = "notifications.rsvp"
OPT_OUT_SALT = "notifications.reminders-opt-out"
RSVP_ANSWERS = ("accepted", "declined", "tentative")


def rsvp_token(*, meeting_id: int, person_id: int) -> str:
    return signing.dumps({"m": meeting_id, "p": person_id}, salt=RSVP_SALT, compress=True)


def read_rsvp_token(token: str) -> tuple[int, int] | None:
    try:
        data = signing.loads(token, salt=RSVP_SALT)
        return int(data["m"]), int(data["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def rsvp_url(*, meeting_id: int, person_id: int, answer: str) -> str:
    token = rsvp_token(meeting_id=meeting_id, person_id=person_id)
    return absolute(reverse("notifications:rsvp", kwargs={"token": token, "answer": answer}))


def opt_out_token(*, person_id: int) -> str:
    return signing.dumps({"p": person_id}, salt=OPT_OUT_SALT, compress=True)


def read_opt_out_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=OPT_OUT_SALT)["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def opt_out_url(*, person_id: int) -> str:
    return absolute(reverse("notifications:reminders-opt-out", kwargs={"token": opt_out_token(person_id=person_id)}))
