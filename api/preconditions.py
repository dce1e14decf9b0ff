"""Conditional writes for meetings: ``ETag`` on every meeting response, ``If-Match`` on writes.

Two coordinators planning the same day must never silently overwrite each other. A client that
sends ``If-Match`` with the ETag it last saw gets 412 when the meeting changed in between (any
write: time, room, agenda, participants, RSVPs, cancellation); without the header a write behaves
as before, so existing API clients keep working. The comparison happens on the locked row inside
the write's transaction, so two writers holding the same ETag cannot both pass.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from events.models import Meeting
from events.selectors import meeting_version


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "This meeting was changed by someone else since you loaded it. Reload it and try again."
    default_code = "stale"


def etag(meeting: Meeting) -> str:
    return f'"{meeting_version(meeting)}"'


def with_etag(response: Response, meeting: Meeting) -> Response:
    response["ETag"] = etag(meeting)
    return response


def _listed_tags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


def check_if_match(request, meeting: Meeting) -> None:
    """Refuse with 412 when ``If-Match`` names no current version. Call inside ``transaction.atomic``.

    Weak tags (``W/"…"``) never match: If-Match uses the strong comparison (RFC 9110 §13.1.1).
    """
    tags = _listed_tags(request.headers.get("If-Match") or "")
    if not tags or "*" in tags:  # no header, or an empty one: an unconditional write
        return
    current = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if etag(current) not in tags:
        raise PreconditionFailed()


IF_MATCH_PARAM = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The meeting's ETag as last read. If the meeting changed since, the write is refused with 412 "
    "and nothing changes.",
)
