"""Admin for the directory: the lists a coordinator searches when building a programme.

Other admins point here through ``autocomplete_fields``, so every model has ``search_fields``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count

from . import services
from .models import Organisation, Person, Topic


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "expert_count"]
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


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "organisation", "job_title", "language", "timezone", "user", "reminders_opt_out"]
    list_filter = ["language", "organisation__kind", "reminders_opt_out", ("user", admin.EmptyFieldListFilter),
                   "expertise"]
    search_fields = ["name", "email", "job_title", "organisation__name"]
    list_select_related = ["organisation", "user"]
    autocomplete_fields = ["organisation", "user"]
    filter_horizontal = ["expertise"]
    readonly_fields = ["feed_token", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "email", "organisation", "job_title", "expertise"]}),
        ("Preferences", {"fields": ["language", "timezone", "reminders_opt_out"]}),
        ("Account and calendar", {"fields": ["user", "feed_token", "created_at", "updated_at"]}),
    ]
    actions = ["rotate_feed_token"]

    @admin.action(description="Rotate calendar-feed link (the old link stops working)")
    def rotate_feed_token(self, request, queryset):
        for person in queryset:
            services.person_rotate_feed_token(person=person)
        self.message_user(request, f"New calendar-feed links for {queryset.count()} people.", messages.SUCCESS)
