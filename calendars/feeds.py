"""Calendar subscription feeds and the single-meeting download.

Calendar clients poll every subscribed feed every few hours, forever, so a poll must be cheap:

* the validator (ETag / Last-Modified) comes from one grouped aggregate over the feed's meetings,
  memoized until the schedule changes (``schedule_changed``) or for at most five minutes, and a
  conditional request whose validator still matches is answered 304 before any body is built;
* a body is the calendar head, the VTIMEZONEs and a join of pre-rendered VEVENTs
  (``calendars.fragments.render_cached_feed``), a constant number of queries however many meetings;
* the body is cached gzip-compressed under its ETag (a 50,000-meeting feed is ~65 MB of text and a
  tenth of that compressed) and sent as it is stored to clients that accept gzip (calendar clients
  do), decompressed on the way out — streamed, for big ones — to those that do not. A 304 never
  reads the body from the cache at all. ``Vary: Accept-Encoding`` on every answer.

Private feeds carry their secret in the path (Google Calendar cannot send credentials); an unknown
or rotated token is a plain 404, indistinguishable from a URL that never existed.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import secrets
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import cast

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from core.auth import request_user
from core.links import absolute
from core.roles import is_coordinator, person_for_user
from core.throttle import hit_per_url
from directory.models import Person
from events.models import Meeting, Participation
from events.selectors import meeting_list, meetings_for_person, public_meetings

from . import fragments, ical
from .links import meeting_links_for_person, read_meeting_link_token

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/calendar; charset=utf-8"
#: How long a rendered body stays in the cache under its ETag (a changed feed gets a new key).
BODY_CACHE_SECONDS = 24 * 3600
#: Longest time a feed's validator may lag behind a change that sends no ``schedule_changed``.
STATE_MEMO_SECONDS = 300
#: Seconds a client is asked to wait while the worker renders a large batch of changed entries.
RETRY_AFTER_PREPARING = 30
GENERATION_KEY = "visitdesk:schedule-generation"
#: Cached bodies are gzip at this level: ~8x smaller for feeds, ~60 MB/s on one core (docs/performance.md).
GZIP_LEVEL = 5
#: A body decompressed for a client without gzip is streamed above this size, in pieces of about STREAM_PIECE.
STREAM_OVER = 1 << 20
STREAM_PIECE = 64 * 1024


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with a q-value above 0; RFC 9110 12.5.3)."""
    quality: dict[str, float] = {}
    for item in request.headers.get("Accept-Encoding", "").split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding:
            quality[coding.lower()] = q
    q = quality.get("gzip", quality.get("x-gzip", quality.get("*", 0.0)))
    return q > 0


def gzip_body(body: bytes) -> bytes:
    """gzip without a timestamp: the same body always gives the same bytes."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def _gunzip_pieces(compressed: bytes) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(wbits=31)  # 31: the gzip container
    view = memoryview(compressed)
    for start in range(0, len(view), STREAM_PIECE):
        piece = decompressor.decompress(view[start:start + STREAM_PIECE])
        if piece:
            yield piece
    tail = decompressor.flush()
    if tail:
        yield tail


def _body_response(compressed: bytes, *, gzipped: bool, raw: bytes | None = None) -> HttpResponse | StreamingHttpResponse:
    """The stored (compressed) body as the client asked for it; ``raw``: the uncompressed body if at hand."""
    response: HttpResponse | StreamingHttpResponse
    if gzipped:
        response = HttpResponse(compressed, content_type=CONTENT_TYPE)
        response["Content-Encoding"] = "gzip"
    elif raw is not None:
        response = HttpResponse(raw, content_type=CONTENT_TYPE)
    else:
        size = int.from_bytes(compressed[-4:], "little")  # gzip's ISIZE: the length mod 2**32
        if size < STREAM_OVER:
            response = HttpResponse(gzip.decompress(compressed), content_type=CONTENT_TYPE)
        else:
            response = StreamingHttpResponse(_gunzip_pieces(compressed), content_type=CONTENT_TYPE)
            if len(compressed) < 2**32:
                response["Content-Length"] = str(size)
    return response


def throttled_response(request: HttpRequest) -> HttpResponse | None:
    """429 with Retry-After once a client polls one URL faster than the ``feed`` rate, else None."""
    wait = hit_per_url("feed", request)
    if wait is None:
        return None
    response = HttpResponse("Too many requests for this calendar; try again later.\n", status=429,
                            content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response


def schedule_generation_bump(**_signal_kwargs: object) -> None:
    """Receiver of ``events.signals.schedule_changed`` (after commit): every memoized feed state is stale.

    Connected in ``EventsConfig.ready`` so web and worker processes alike invalidate.
    """
    try:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # evicted or never set: any fresh value invalidates, a random one never collides
            cache.set(GENERATION_KEY, secrets.randbelow(2**62), None)
    except Exception:
        # Runs after a write committed: never let the cache turn that into an error. A missed bump
        # shows the change within STATE_MEMO_SECONDS anyway.
        logger.warning("could not invalidate memoized feed validators", exc_info=True)


def _memoized_state(meetings: Callable[[], QuerySet[Meeting]], *, feed_key: str) -> fragments.FeedState:
    """The feed's ``FeedState``, from the cache while nothing in the schedule changed.

    The memo is keyed by the schedule generation (bumped after every committed schedule change)
    and by a time bucket, so changes that send no signal (meetings leaving the 30-day window,
    edits outside the services) show within ``STATE_MEMO_SECONDS``. The generation is read
    before the state is computed: a change committed meanwhile files the result under the old
    generation, never a stale state under the new one.
    """
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, secrets.randbelow(2**62), None)
        generation = cache.get(GENERATION_KEY)
    bucket = int(time.time() // STATE_MEMO_SECONDS)
    digest = hashlib.sha256(feed_key.encode()).hexdigest()[:32]
    key = f"visitdesk:feed-state:{ical.RENDERER_VERSION}:{digest}:{generation}:{bucket}"
    state = cache.get(key)
    if state is None:
        state = fragments.feed_state(meetings())
        cache.set(key, state, 2 * STATE_MEMO_SECONDS)
    return cast(fragments.FeedState, state)


def serve_feed(
    request: HttpRequest,
    meetings: Callable[[], QuerySet[Meeting]],
    *,
    name: str,
    audience: str,
    filename: str,
    description: str = "",
    private: bool = True,
    changed_at: datetime | None = None,
    link: Callable[[int], str] | None = None,
) -> HttpResponseBase:
    """Answer a feed request: 429 when throttled, 304 when the client's copy is current, else the body.

    ``meetings`` builds the feed's queryset; it is only called when needed (building a queryset
    costs more than answering a memoized 304). ``changed_at``: when something outside the meetings
    that shapes the feed last changed (e.g. the owner's name in NAME); it moves Last-Modified and
    the ETag. ``link(meeting_id)``: each VEVENT's URL for this feed's reader (see ``calendars.links``).
    The request path is part of the ETag (and so of the body cache key): two feeds with the same
    meetings but different readers carry different links.
    """
    limited = throttled_response(request)
    if limited is not None:
        return limited
    state = _memoized_state(meetings, feed_key=f"{request.path}|{audience}")
    basis = "|".join((state.etag_basis(), request.path, audience, name, description,
                      changed_at.isoformat() if changed_at else "-"))
    etag = '"' + hashlib.sha256(basis.encode()).hexdigest()[:32] + '"'
    stamps = [t for t in (state.last_change, changed_at) if t is not None]
    last_modified = int(max(stamps).timestamp()) if stamps else None

    gzipped = accepts_gzip(request)
    headers = {
        # Weak for the compressed representation (like Django's GZipMiddleware); If-None-Match
        # compares weakly, so either form a client sends back matches.
        "ETag": "W/" + etag if gzipped else etag,
        "Cache-Control": ("private" if private else "public") + ", max-age=300",
    }
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    if private:
        headers["X-Robots-Tag"] = "noindex, nofollow"

    response: HttpResponse | StreamingHttpResponse | None
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        # The ETag names everything the body is made of, so the body rendered for it can be served
        # again as is: clients that do not revalidate (and new worker processes) cost one query and
        # one cache read of the compressed body (never read for a 304).
        body_key = f"visitdesk:feed-body-gz:{etag.strip(chr(34))}"
        compressed = cache.get(body_key)
        raw = None
        if compressed is None:
            try:
                raw = fragments.render_cached_feed(meetings(), name=name, audience=audience,
                                                   description=description, state=state, link=link)
            except fragments.TooManyStale:
                # Many entries changed at once (an import, a renderer change) and the worker is still
                # rendering them: a client keeps its copy on 503 and comes back; nothing is half-served.
                response = HttpResponse("This calendar is being prepared; try again shortly.\n", status=503,
                                        content_type="text/plain; charset=utf-8")
                response["Retry-After"] = str(RETRY_AFTER_PREPARING)
                return response
            compressed = gzip_body(raw)
            cache.set(body_key, compressed, BODY_CACHE_SECONDS)
        response = _body_response(compressed, gzipped=gzipped, raw=raw)
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    for key, value in headers.items():
        response[key] = value
    patch_vary_headers(response, ("Accept-Encoding",))
    return response


def _calendar_name(suffix: str) -> str:
    return f"{settings.VISITDESK_ORGANIZER_NAME} – {suffix}"


@require_safe
def public_feed(request: HttpRequest) -> HttpResponseBase:
    return serve_feed(
        request,
        public_meetings,
        name=_calendar_name("Public events"),
        description="Info days, workshops and conferences open to the public.",
        audience=ical.PUBLIC,
        filename="public.ics",
        private=False,
    )


@require_safe
def person_feed(request: HttpRequest, token: str) -> HttpResponseBase:
    person = Person.objects.filter(feed_token=token).only("pk", "name", "updated_at", "feed_token").first() if token else None
    if person is None:
        raise Http404
    return serve_feed(
        request,
        lambda: meetings_for_person(person=person),
        name=_calendar_name(person.name),
        description=f"Meetings {person.name} takes part in.",
        audience=ical.PRIVATE,
        filename="meetings.ics",
        changed_at=person.updated_at,
        link=meeting_links_for_person(person),
    )


@require_safe
def meeting_ics(request: HttpRequest, pk: int) -> HttpResponseBase:
    """One meeting as .ics: public-event meetings for anyone, others for staff and participants only.

    Anyone else gets 404, so the URL does not even confirm that a private meeting exists.
    """
    meeting = Meeting.objects.filter(pk=pk).select_related("event").first()
    if meeting is None:
        raise Http404
    is_public = meeting.event is not None and meeting.event.is_public
    user = request_user(request)
    person = person_for_user(user)
    privileged = is_coordinator(user) or (
        person is not None and meeting.participations.filter(person=person).exists()
    )
    if not (is_public or privileged):
        raise Http404
    response = serve_feed(
        request,
        lambda: meeting_list().filter(pk=meeting.pk),
        name=_line_title(meeting),
        audience=ical.PRIVATE if privileged else ical.PUBLIC,
        filename=f"meeting-{meeting.pk}.ics",
        private=privileged or not is_public,
        link=lambda meeting_id: absolute(request.path),
    )
    patch_vary_headers(response, ("Cookie", "Authorization"))
    return _as_download(response, meeting)


def _as_download(response: HttpResponseBase, meeting: Meeting) -> HttpResponseBase:
    if response.status_code == 200:
        response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@require_safe
def meeting_ics_signed(request: HttpRequest, pk: int, token: str) -> HttpResponseBase:
    """One meeting as .ics through the link invites, reminders and person feeds carry: no account.

    The token names the person and is signed with their current feed token
    (``calendars.links.meeting_link_for_person``): it works while they take part in the meeting and
    answers 404 once they are removed or rotate their feed token, like a URL that never existed.
    """
    person_id = read_meeting_link_token(
        pk, token, feed_token_of=lambda person_id: Person.objects.filter(pk=person_id).values_list(
            "feed_token", flat=True).first())
    if person_id is None or not Participation.objects.filter(meeting_id=pk, person_id=person_id).exists():
        raise Http404
    meeting = Meeting.objects.get(pk=pk)
    response = serve_feed(
        request,
        lambda: meeting_list().filter(pk=pk),
        name=_line_title(meeting),
        audience=ical.PRIVATE,
        filename=f"meeting-{pk}.ics",
        link=lambda meeting_id: absolute(request.path),
    )
    return _as_download(response, meeting)


def _line_title(meeting: Meeting) -> str:
    return " ".join(meeting.title.split()) or "Meeting"
