"""Writes for organisations, people and topics."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from core.errors import ValidationFailed
from core.tokens import new_url_token

from .models import Organisation, Person


def person_get_or_create(*, email: str, defaults: dict[str, Any] | None = None) -> tuple[Person, bool]:
    """The reviewed person with this e-mail (case-insensitive), created from ``defaults`` if new.

    For trusted callers only (coordinators, demo data, accounts): anonymous input goes through
    ``person_create_from_request``. Safe under concurrency: a parallel insert of the same address
    loses to the unique index and the existing row is returned instead.
    """
    email = email.strip()
    found = Person.objects.filter(email__iexact=email, needs_review=False).first()
    if found:
        return found, False
    try:
        with transaction.atomic():
            return Person.objects.create(email=email, **(defaults or {})), True
    except IntegrityError:
        return Person.objects.get(email__iexact=email, needs_review=False), False


def person_create_from_request(
    *, name: str, email: str, organisation: Organisation | None, job_title: str = "", language: str = "en"
) -> Person:
    """A new, unreviewed person from anonymous input — never a lookup of who else has this address.

    Whether the address belongs to a coordinator, a scientist or an earlier requester is not read
    here (so neither the request nor its status page can reveal or borrow their record); a
    coordinator decides later with ``person_mark_reviewed`` or ``person_merge``.
    """
    return Person.objects.create(
        name=name, email=email.strip(), organisation=organisation, job_title=job_title, language=language,
        needs_review=True,
    )


def person_same_address(*, person: Person) -> Person | None:
    """The reviewed person that already has this person's address, if any (for the review screen)."""
    return Person.objects.filter(email__iexact=person.email, needs_review=False).exclude(pk=person.pk).first()


@transaction.atomic
def person_mark_reviewed(*, person: Person) -> Person:
    """Accept a requester-typed person as the directory's person for their address."""
    if not person.needs_review:
        return person
    existing = person_same_address(person=person)
    if existing is not None:
        raise ValidationFailed(
            f"{existing.name} already has the address {existing.email}: merge into that person instead.",
            field="email", detail={"existing": existing.pk},
        )
    person.needs_review = False
    person.save(update_fields=["needs_review", "updated_at"])
    return person


@transaction.atomic
def person_merge(*, source: Person, into: Person) -> Person:
    """Move everything that refers to ``source`` (visits, delegations, participations, mails) to ``into``.

    Used by a coordinator after reviewing a request: the requester-typed row is merged into the
    existing person with the same address. Written against Django's model metadata, not the
    higher apps' models, so ``directory`` stays below them. Where both already appear in the same
    place (e.g. both take part in one meeting), ``into``'s row is kept and ``source``'s dropped.
    ``into``'s own fields are never changed by the merge.
    """
    if source.pk == into.pk:
        raise ValidationFailed("A person cannot be merged into themselves.", field="into")
    if not source.needs_review:
        raise ValidationFailed("Only people from a visit request (not yet reviewed) can be merged away.",
                               field="source")
    if source.email.strip().lower() != into.email.strip().lower():
        raise ValidationFailed("Only people with the same e-mail address can be merged.", field="into")
    for relation in Person._meta.related_objects:
        if relation.one_to_one:
            continue
        model, field = relation.related_model, relation.field.name
        assert not isinstance(model, str)  # resolved once the app registry is ready
        if relation.many_to_many:  # e.g. a delegation's members
            for owner in model._base_manager.filter(**{field: source}):
                getattr(owner, field).add(into)
                getattr(owner, field).remove(source)
            continue
        for row in model._base_manager.filter(**{field: source}):
            try:
                with transaction.atomic():
                    model._base_manager.filter(pk=row.pk).update(**{field: into})
            except IntegrityError:
                model._base_manager.filter(pk=row.pk).delete()
    for m2m in Person._meta.many_to_many:  # e.g. expertise
        getattr(into, m2m.name).add(*getattr(source, m2m.name).all())
    source.delete()
    return into


def organisation_get_or_create(*, name: str, country: str = "", defaults: dict[str, Any] | None = None) -> tuple[Organisation, bool]:
    name = " ".join(name.split())
    country = country.upper()
    found = Organisation.objects.filter(name__iexact=name, country=country).first()
    if found:
        return found, False
    try:
        with transaction.atomic():
            return Organisation.objects.create(name=name, country=country, **(defaults or {})), True
    except IntegrityError:
        return Organisation.objects.get(name__iexact=name, country=country), False


@transaction.atomic
def person_rotate_feed_token(*, person: Person) -> Person:
    """A new calendar-feed secret; the old URL answers 404 from now on."""
    person.feed_token = new_url_token()
    person.save(update_fields=["feed_token", "updated_at"])
    return person


@transaction.atomic
def person_set_reminders_opt_out(*, person: Person, opt_out: bool) -> Person:
    person.reminders_opt_out = opt_out
    person.save(update_fields=["reminders_opt_out", "updated_at"])
    return person
