"""Admin for the directory: the lists a coordinator searches when building a programme.

Other admins point here through ``autocomplete_fields``, so every model has ``search_fields``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count

from core.errors import DomainError

from . import services
from .models import Organisation, Person, Topic


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "meeting_minutes", "expert_count"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_experts=Count("experts", distinct=True))

    @admin.display(description="experts", ordering="_experts")
    def expert_count(self, obj) -> int:
        return obj._experts


class PersonInline(admin.TabularInline):
    model = Person
    fields = ["name", "email", "job_title", "language"]
    extra = 0
    show_change_link = True


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "city", "country", "website", "people_count"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "city", "website"]
    readonly_fields = ["created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [PersonInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_people=Count("people", distinct=True))

    @admin.display(description="people", ordering="_people")
    def people_count(self, obj) -> int:
        return obj._people


class PersonForm(forms.ModelForm):
    """The address rule the database enforces among reviewed people, as a form error instead of a 500.

    (``needs_review`` is read-only here, so Django's own constraint check skips the conditional
    unique constraint.)
    """

    class Meta:
        model = Person
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        reviewed = self.instance.pk is None or not self.instance.needs_review
        clash = Person.objects.filter(email__iexact=email, needs_review=False).exclude(pk=self.instance.pk)
        if reviewed and clash.exists():
            raise forms.ValidationError("A person with this e-mail address exists.")
        return email


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    form = PersonForm
    list_display = ["name", "email", "organisation", "job_title", "language", "timezone", "user", "reminders_opt_out",
                    "needs_review"]
    list_filter = ["needs_review", "language", "organisation__kind", "reminders_opt_out",
                   ("user", admin.EmptyFieldListFilter), "expertise"]
    search_fields = ["name", "email", "job_title", "organisation__name"]
    list_select_related = ["organisation", "user"]
    autocomplete_fields = ["organisation", "user"]
    filter_horizontal = ["expertise"]
    readonly_fields = ["feed_token", "created_at", "updated_at", "needs_review", "same_address"]
    fieldsets = [
        (None, {"fields": ["name", "email", "phone", "organisation", "job_title", "expertise"]}),
        ("Review", {"fields": ["needs_review", "same_address"]}),
        ("Preferences", {"fields": ["language", "timezone", "reminders_opt_out"]}),
        ("Account and calendar", {"fields": ["user", "feed_token", "created_at", "updated_at"]}),
    ]
    actions = ["rotate_feed_token", "mark_reviewed", "merge_into_existing"]

    @admin.display(description="existing person with this address")
    def same_address(self, obj) -> str:
        existing = services.person_same_address(person=obj) if obj.pk and obj.needs_review else None
        return str(existing) if existing else "–"

    @admin.action(description="Mark reviewed (they become the person for their address)")
    def mark_reviewed(self, request, queryset):
        done = 0
        for person in queryset.filter(needs_review=True):
            try:
                services.person_mark_reviewed(person=person)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{person.name}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} people marked reviewed.", messages.SUCCESS)

    @admin.action(description="Merge into the existing person with the same e-mail address")
    def merge_into_existing(self, request, queryset):
        done = 0
        for person in queryset.filter(needs_review=True):
            existing = services.person_same_address(person=person)
            if existing is None:
                self.message_user(request, f"{person.name}: nobody else has {person.email}; mark reviewed instead.",
                                  messages.WARNING)
                continue
            services.person_merge(source=person, into=existing)
            done += 1
        self.message_user(request, f"{done} people merged into the existing person with their address.",
                          messages.SUCCESS)

    @admin.action(description="Rotate calendar-feed link (the old link stops working)")
    def rotate_feed_token(self, request, queryset):
        for person in queryset:
            services.person_rotate_feed_token(person=person)
        self.message_user(request, f"New calendar-feed links for {queryset.count()} people.", messages.SUCCESS)
