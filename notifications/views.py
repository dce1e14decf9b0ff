"""Pages behind the signed links in mails: answer an invite, stop (or resume) reminders.

GET only shows a confirmation form; the change happens on POST (with CSRF). Mail scanners and link
previews fetch every URL in a message, and must not accept or decline meetings on the reader's
behalf.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from directory.models import Person
from directory.services import person_set_reminders_opt_out
from events.models import Participation
from events.services import participant_rsvp

from . import links
from .compose import format_span, language_of


@require_http_methods(["GET", "POST"])
def rsvp(request, token: str, answer: str):
    found = links.read_rsvp_token(token)
    if found is None or answer not in links.RSVP_ANSWERS:
        raise Http404
    meeting_id, person_id = found
    participation = (
        Participation.objects.select_related("meeting", "person")
        .filter(meeting_id=meeting_id, person_id=person_id)
        .first()
    )
    if participation is None or participation.meeting.is_cancelled or participation.meeting.ends_at < timezone.now():
        raise Http404  # removed, cancelled or over: the link is dead
    lang = language_of(participation.person)
    done = False
    if request.method == "POST":
        participation = participant_rsvp(participation=participation, answer=answer)
        done = True
    meeting = participation.meeting
    with translation.override(lang):
        return render(
            request,
            "notifications/rsvp.html",
            {
                "lang": lang,
                "participation": participation,
                "meeting": meeting,
                "answer": answer,
                "done": done,
                "when": format_span(meeting.starts_at, meeting.ends_at, meeting.timezone, lang,
                                    participation.person.timezone),
            },
        )


@require_http_methods(["GET", "POST"])
def reminders_opt_out(request, token: str):
    person_id = links.read_opt_out_token(token)
    person = Person.objects.filter(pk=person_id).first() if person_id else None
    if person is None:
        raise Http404
    done = False
    if request.method == "POST":
        opt_out = request.POST.get("opt_out", "1") != "0"
        person = person_set_reminders_opt_out(person=person, opt_out=opt_out)
        done = True
    lang = language_of(person)
    with translation.override(lang):
        return render(request, "notifications/opt_out.html", {"lang": lang, "person": person, "done": done})
