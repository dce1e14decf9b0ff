"""Signed links in mails: answer an invite, stop reminders, read the visit itinerary.

The links carry ids signed with ``django.core.signing`` (HMAC with SECRET_KEY and a per-purpose
salt), so they need no stored token and cannot be forged or re-targeted at another meeting or
person. Rotating SECRET_KEY revokes them all; an RSVP link also dies when the person is no longer a
participant or the meeting has ended. The itinerary link (delegation members other than the
requester, who alone gets the status page that can cancel the visit) is also tied to the member's
feed token, so rotating that revokes it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from core.links import absolute

if TYPE_CHECKING:
    from directory.models import Person

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


def opt_out_url(*, person_id: int, token: str | None = None) -> str:
    """The opt-out page of ``person_id`` (with ``token``, when the caller has signed it already)."""
    token = token or opt_out_token(person_id=person_id)
    return absolute(reverse("notifications:reminders-opt-out", kwargs={"token": token}))


# --- the delegation member's read-only itinerary ---------------------------------------------

ITINERARY_SALT = "notifications.itinerary"


def _feed_token_tag(feed_token: str) -> str:
    return hashlib.sha256(feed_token.encode()).hexdigest()[:12]


def itinerary_token(*, visit_id: int, person: Person) -> str:
    """Signed for one member of one visit and tied to their feed token: rotating it revokes the link."""
    return signing.dumps({"v": visit_id, "p": person.pk, "f": _feed_token_tag(person.feed_token)},
                         salt=ITINERARY_SALT, compress=True)


def read_itinerary_token(token: str) -> tuple[int, int, str] | None:
    """(visit id, person id, feed-token tag) or None; the caller checks the tag against the person."""
    try:
        data = signing.loads(token, salt=ITINERARY_SALT)
        return int(data["v"]), int(data["p"]), str(data["f"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def itinerary_token_current(tag: str, person: Person) -> bool:
    return constant_time_compare(tag, _feed_token_tag(person.feed_token))


def itinerary_url(*, visit_id: int, person: Person) -> str:
    return absolute(reverse("notifications:itinerary", kwargs={"token": itinerary_token(visit_id=visit_id, person=person)}))


def itinerary_programme_url(*, visit_id: int, person: Person, pdf: bool = False) -> str:
    """The programme page (or its PDF) behind the same signed itinerary token, in the member's language."""
    name = "notifications:itinerary-programme-pdf" if pdf else "notifications:itinerary-programme"
    return absolute(reverse(name, kwargs={"token": itinerary_token(visit_id=visit_id, person=person)}))
