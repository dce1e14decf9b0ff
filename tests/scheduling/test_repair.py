"""Repair a coordinator can trust (issue 19): a preview that writes nothing, confirmation that applies
exactly the preview, and a cancelled meeting that stays cancelled."""

from __future__ import annotations

from datetime import datetime

import pytest

from events import services as event_services
from events.models import Meeting, Participation
from notifications import reconcile
from notifications.models import Kind, OutboxMessage
from scheduling.models import Proposal, ProposalItem
from visits import booking
from visits.models import Visit
from visits.selectors import programme_recipient_ids

pytestmark = pytest.mark.django_db


def accepted(centre) -> dict:
    client = centre.client()
    proposal = client.post(f"/api/v1/visits/{centre.visit.pk}/proposals/", {"time_limit_seconds": 5},
                           format="json").json()
    return client.post(f"/api/v1/proposals/{proposal['id']}/accept/", {}, format="json").json()


def snapshot(visit) -> list[tuple]:
    """Everything about the programme's meetings a repair could change."""
    return [(m.pk, m.status, m.sequence, m.starts_at, m.room_id,
             sorted(m.participations.values_list("person_id", "role")))
            for m in Meeting.objects.filter(programme_slot__visit=visit).order_by("pk")]


def items_state(proposal_id: int) -> list[tuple]:
    return [(i.key, i.starts_at, i.room_id, i.spec.host, i.meeting_id)
            for i in ProposalItem.objects.filter(proposal_id=proposal_id).order_by("key")]


def plan_mail_count(proposal_id: int) -> int:
    return Proposal.objects.get(pk=proposal_id).repair.mail_count


def host_of(item: dict) -> int:
    return next(p["person"] for p in item["participants"] if p["role"] == "host")


def test_a_preview_changes_nothing_and_says_who_will_get_which_mail(centre):
    proposal = accepted(centre)
    cell = next(i for i in proposal["items"] if i["key"] == "topic-cell-therapeutics")
    host = host_of(cell)
    meeting = Meeting.objects.get(pk=cell["meeting"])
    event_services.participant_rsvp(participation=meeting.participations.get(person_id=host), answer="declined")
    before, items_before = snapshot(centre.visit), items_state(proposal["id"])

    response = centre.client().post(f"/api/v1/proposals/{proposal['id']}/repair/", {}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert snapshot(centre.visit) == before and items_state(proposal["id"]) == items_before
    plan = body["plan"]
    assert plan["applied_at"] is None and plan["announced"] is True
    [change] = plan["changes"]
    assert change["key"] == "topic-cell-therapeutics" and change["outcome"] == "repaired"
    assert change["new_host"] is True and change["before"]["host"] == host
    new_host = change["after"]["host"]
    assert new_host in {centre.ada.pk, centre.dana.pk} - {host}
    mails = {m["person"]: m["mail"] for m in change["mail"]}
    was_there = set(meeting.participations.values_list("person_id", flat=True))
    # The host who declined is taken off; the next expert is invited (or, already an optional guest,
    # hears of the change like everyone who stays: the agenda's presenter changes). The delegation
    # gets no mail of this meeting: the visit's delegation mail is the programme (the default), so the
    # change reaches them in its "programme updated" mail.
    assert mails[host] == "cancel"
    assert mails[new_host] == ("update" if new_host in was_there else "invitation")
    delegation = was_there - {host}
    readers = programme_recipient_ids(centre.visit)
    assert delegation & readers, "the delegation is on the meeting"
    assert {p for p, m in mails.items() if m == "programme"} == delegation & readers
    assert {p for p, m in mails.items() if m == "update"} == delegation - readers
    assert plan_mail_count(proposal["id"]) == len(mails)  # one programme update per reader, whatever changes
    assert body["repaired"] == {"topic-cell-therapeutics": change["why"]}

    confirmed = centre.client().post(f"/api/v1/proposals/{proposal['id']}/repair/",
                                     {"confirm": True, "plan": plan["token"]}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["plan"]["applied_at"] is not None
    assert confirmed.json()["plan"]["changes"] == plan["changes"]
    hosts = set(meeting.participations.filter(role=Participation.Role.HOST).values_list("person_id", flat=True))
    assert hosts == {new_host}
    assert set(meeting.participations.values_list("person_id", flat=True)) == delegation | {new_host}
    assert host not in delegation
    assert ProposalItem.objects.get(proposal_id=proposal["id"], key="topic-cell-therapeutics").spec.host == new_host
    # What the notifications owe matches the plan: programme mail for the readers, none of this meeting's
    # (nobody was told anything before, so everyone on the meeting is owed a first mail).
    reconcile.reconcile()
    owed = OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING)
    assert not owed.filter(meeting=meeting, person_id__in=readers).exists()
    assert set(owed.filter(kind__in=(Kind.PROGRAMME, Kind.PROGRAMME_UPDATE), visit=centre.visit)
               .values_list("person_id", flat=True)) == readers
    assert owed.filter(meeting=meeting, person_id=new_host, kind=Kind.INVITE).exists()  # staff: the meeting's own


def test_with_per_meeting_invitations_the_delegation_gets_this_meetings_update(centre):
    Visit.objects.filter(pk=centre.visit.pk).update(delegation_mail=Visit.DelegationMail.INVITES)
    proposal = accepted(centre)
    cell = next(i for i in proposal["items"] if i["key"] == "topic-cell-therapeutics")
    host = host_of(cell)
    meeting = Meeting.objects.get(pk=cell["meeting"])
    event_services.participant_rsvp(participation=meeting.participations.get(person_id=host), answer="declined")

    plan = centre.client().post(f"/api/v1/proposals/{proposal['id']}/repair/", {}, format="json").json()["plan"]

    [change] = plan["changes"]
    mails = {m["person"]: m["mail"] for m in change["mail"]}
    assert "programme" not in mails.values()
    delegation = set(meeting.participations.values_list("person_id", flat=True)) - {host, change["after"]["host"]}
    assert delegation & programme_recipient_ids(centre.visit)
    assert {p for p in delegation if mails.get(p) == "update"} == delegation


def test_confirming_a_plan_after_the_programme_changed_is_refused_and_changes_nothing(centre):
    proposal = accepted(centre)
    h2020 = next(i for i in proposal["items"] if i["key"] == "topic-horizon-2020")
    from availability import services as availability_services

    availability_services.absence_create(person=centre.cem, starts_at=datetime.fromisoformat(h2020["starts_at"]),
                                         ends_at=datetime.fromisoformat(h2020["ends_at"]))
    client = centre.client()
    plan = client.post(f"/api/v1/proposals/{proposal['id']}/repair/", {}, format="json").json()["plan"]
    assert [c["key"] for c in plan["changes"]] == ["topic-horizon-2020"] and plan["changes"][0]["moved"]
    # Meanwhile someone edits another programme meeting by hand.
    welcome = Meeting.objects.get(pk=next(i["meeting"] for i in proposal["items"] if i["key"] == "welcome"))
    booking.meeting_change(meeting=welcome, changes={"title": "Welcome and coffee"}, booker=booking.COORDINATOR)
    before = snapshot(centre.visit)

    response = client.post(f"/api/v1/proposals/{proposal['id']}/repair/", {"confirm": True, "plan": plan["token"]},
                           format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "repair_plan_stale"
    assert snapshot(centre.visit) == before
    # A token that was never previewed is refused the same way.
    other = client.post(f"/api/v1/proposals/{proposal['id']}/repair/", {"confirm": True, "plan": "0" * 32},
                        format="json")
    assert other.status_code == 409


def test_a_cancelled_meeting_stays_cancelled_and_nothing_is_booked_for_it(centre):
    proposal = accepted(centre)
    stem = next(i for i in proposal["items"] if i["key"] == "topic-stem-cell-rd")
    booking.meeting_cancel(meeting=Meeting.objects.get(pk=stem["meeting"]))
    cell = next(i for i in proposal["items"] if i["key"] == "topic-cell-therapeutics")
    cell_meeting = Meeting.objects.get(pk=cell["meeting"])
    event_services.participant_rsvp(participation=cell_meeting.participations.get(person_id=host_of(cell)),
                                    answer="declined")
    meetings_before = Meeting.objects.count()
    client = centre.client()

    preview = client.post(f"/api/v1/proposals/{proposal['id']}/repair/", {}, format="json").json()

    changes = {c["key"]: c for c in preview["plan"]["changes"]}
    assert changes["topic-stem-cell-rd"]["outcome"] == "stays_cancelled"
    assert changes["topic-stem-cell-rd"]["mail"] == [] and not changes["topic-stem-cell-rd"]["moved"]
    assert "cancelled" in preview["repaired"]["topic-stem-cell-rd"]
    assert changes["topic-cell-therapeutics"]["outcome"] == "repaired"

    client.post(f"/api/v1/proposals/{proposal['id']}/repair/", {"confirm": True, "plan": preview["plan"]["token"]},
                format="json")

    assert Meeting.objects.count() == meetings_before
    assert Meeting.objects.get(pk=stem["meeting"]).status == Meeting.Status.CANCELLED
    item = ProposalItem.objects.get(proposal_id=proposal["id"], key="topic-stem-cell-rd")
    assert item.meeting_id == stem["meeting"]
    assert not Meeting.objects.filter(programme_slot__visit=centre.visit, title=stem["title"],
                                      status=Meeting.Status.SCHEDULED).exists()


def test_only_a_cancellation_leaves_nothing_to_do(centre):
    proposal = accepted(centre)
    wrap = next(i for i in proposal["items"] if i["key"] == "wrap-up")
    booking.meeting_cancel(meeting=Meeting.objects.get(pk=wrap["meeting"]))
    before = snapshot(centre.visit)
    body = centre.client().post(f"/api/v1/proposals/{proposal['id']}/repair/", {"confirm": True},
                                format="json").json()
    assert [(c["key"], c["outcome"]) for c in body["plan"]["changes"]] == [("wrap-up", "stays_cancelled")]
    assert snapshot(centre.visit) == before
    assert Proposal.objects.get(pk=proposal["id"]).repair.applied_at is not None


def test_before_the_visit_is_confirmed_nobody_would_be_mailed(centre):
    from visits.models import Visit

    proposal = accepted(centre)
    cell = next(i for i in proposal["items"] if i["key"] == "topic-cell-therapeutics")
    meeting = Meeting.objects.get(pk=cell["meeting"])
    event_services.participant_rsvp(participation=meeting.participations.get(person_id=host_of(cell)),
                                    answer="declined")
    Visit.objects.filter(pk=centre.visit.pk).update(status=Visit.Status.REQUESTED)
    plan = centre.client().post(f"/api/v1/proposals/{proposal['id']}/repair/", {}, format="json").json()["plan"]
    assert plan["announced"] is False
    assert plan["changes"][0]["outcome"] == "repaired" and plan["changes"][0]["mail"] == []


def test_the_mail_count_has_one_programme_update_per_reader_however_many_of_their_meetings_change():
    from dataclasses import replace as changed
    from datetime import UTC

    from scheduling.values import Mail, RepairChange, RepairPlan, Told

    change = RepairChange(key="a", title="A", outcome="repaired", why={}, before=None, after=None)  # type: ignore[arg-type]
    two_meetings = (
        changed(change, told=(Told(1, "Host", Mail.CANCEL), Told(2, "Anna", Mail.PROGRAMME), Told(3, "Jens", Mail.PROGRAMME))),
        changed(change, key="b", told=(Told(4, "Dana", Mail.INVITATION), Told(2, "Anna", Mail.PROGRAMME))),
    )
    plan = RepairPlan(token="t", made_at=datetime.now(UTC), fingerprint="f", announced=True, changes=two_meetings)
    assert plan.mail_count == 4  # the cancellation, the invitation, Anna's and Jens's programme updates
