"""Writes for organisations, people and topics."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from .models import Organisation, Person
from .tokens import new_url_token


def person_get_or_create(*, email: str, defaults: dict | None = None) -> tuple[Person, bool]:
    """The person with this e-mail (case-insensitive), created from ``defaults`` if new.

    Safe under concurrency: a parallel insert of the same address loses to the unique index and
    the existing row is returned instead.
    """
    email = email.strip()
    found = Person.objects.filter(email__iexact=email).first()
    if found:
        return found, False
    try:
        with transaction.atomic():
            return Person.objects.create(email=email, **(defaults or {})), True
    except IntegrityError:
        return Person.objects.get(email__iexact=email), False


def organisation_get_or_create(*, name: str, country: str = "", defaults: dict | None = None) -> tuple[Organisation, bool]:
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
