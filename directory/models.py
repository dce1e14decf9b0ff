"""Organisations, people and topics.

A reviewed person is unique by e-mail, compared case-insensitively, so the same visitor booking
twice or being added as a host and a presenter is always one row (and one calendar feed).

People typed into the public request form are different: anonymous input must never read or change
an existing person (a request naming a coordinator's address must not be attached to — or reveal
— the coordinator's record). Such people are created as new rows with ``needs_review`` set, outside
the uniqueness rule; a coordinator then marks each reviewed (it becomes the person for its
address) or merges it into the existing person with that address (``directory.services``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from core.timezones import is_timezone_name
from core.tokens import new_url_token


def default_timezone() -> str:
    """New rows start in the deployment's zone (``VISITDESK_DEFAULT_TIMEZONE``)."""
    return settings.VISITDESK_DEFAULT_TIMEZONE


def validate_timezone(value: str) -> None:
    if not is_timezone_name(value):
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. Europe/Berlin).")


class Language(models.TextChoices):
    EN = "en", "English"
    DE = "de", "Deutsch"


class Topic(models.Model):
    """A cooperation area ("Stem cell R&D", "EU funding: Horizon 2020")."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    meeting_minutes = models.PositiveSmallIntegerField(
        default=60, help_text="How long a programme meeting on this topic usually takes (used by proposals)"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", "Company"
        UNIVERSITY = "university", "University"
        RESEARCH_CENTRE = "research_centre", "Research centre"
        CLUSTER_AGENCY = "cluster_agency", "Cluster agency"
        PUBLIC_BODY = "public_body", "Public body"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code")
    city = models.CharField(max_length=120, blank=True)
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "country", name="organisation_name_country_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    job_title = models.CharField(max_length=200, blank=True)
    phone = models.CharField(
        max_length=40, blank=True, help_text="Shown where people need to call: a coordinator's in the visit programme."
    )
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    timezone = models.CharField(max_length=64, default=default_timezone, validators=[validate_timezone])
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    expertise = models.ManyToManyField(Topic, blank=True, related_name="experts")
    feed_token = models.CharField(max_length=64, unique=True, default=new_url_token, editable=False)
    reminders_opt_out = models.BooleanField(
        default=False, help_text="No reminders (invites and cancellations are always sent)."
    )
    needs_review = models.BooleanField(
        default=False,
        help_text="Typed into a public visit request: not matched to anyone yet. Mark reviewed, or merge it "
        "into the existing person with the same e-mail.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=Q(needs_review=False), name="person_email_ci_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
