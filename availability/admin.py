"""Admin for availability: a person's hours, exceptions, absences and calendars on one page; closures.

Absence reasons and calendar addresses are private; the admin is for coordinators, who may see them.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.forms.models import InlineForeignKeyField

from core.errors import DomainError

from . import services
from .fetch import check_url_shape
from .models import Absence, ExternalCalendar, HoursException, PersonAvailability, RoomClosure, WeeklyHours


class WeeklyHoursInline(admin.TabularInline):
    model = WeeklyHours
    extra = 0
    verbose_name_plural = "weekly working hours (the person's zone; none = no limit)"


class HoursExceptionInline(admin.TabularInline):
    model = HoursException
    extra = 0
    verbose_name_plural = "exceptions (rows of a date replace that weekday; no times = day off)"


class AbsenceInline(admin.TabularInline):
    model = Absence
    extra = 0
    fields = ["starts_at", "ends_at", "reason"]


class ExternalCalendarForm(forms.ModelForm):
    url = forms.CharField(max_length=2000, help_text="The calendar's secret address (https:// or webcal://)")

    class Meta:
        model = ExternalCalendar
        fields = ["person", "url"]

    def clean_url(self):
        try:
            return check_url_shape(self.cleaned_data["url"])
        except DomainError as error:
            raise forms.ValidationError(error.message) from None

    def clean(self):
        """The per-person cap (``services.external_calendar_limit_check``) when a calendar is added to
        someone or moved to them here; the inline on a person's page counts its rows instead."""
        cleaned = super().clean()
        person = cleaned.get("person")
        inline = isinstance(self.fields.get("person"), InlineForeignKeyField)
        if not inline and person is not None and person.pk != self.instance.person_id:
            try:
                services.external_calendar_limit_check(
                    person=person, calendars=ExternalCalendar.objects.filter(person=person).count() + 1)
            except DomainError as error:
                self.add_error("url", error.message)
        return cleaned


class ExternalCalendarFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [form for form in self.forms if (form.has_changed() or form.instance.pk)
                and not (self.can_delete and self._should_delete_form(form))]
        try:
            services.external_calendar_limit_check(person=self.instance, calendars=len(kept))
        except DomainError as error:
            raise forms.ValidationError(error.message) from None


class ExternalCalendarInline(admin.TabularInline):
    model = ExternalCalendar
    form = ExternalCalendarForm
    formset = ExternalCalendarFormSet
    extra = 0
    fields = ["url", "last_synced_at", "last_error", "busy_count"]
    readonly_fields = ["last_synced_at", "last_error", "busy_count"]


@admin.register(PersonAvailability)
class PersonAvailabilityAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "timezone", "hours_summary"]
    search_fields = ["name", "email"]
    fields = ["name", "email", "timezone"]
    readonly_fields = ["name", "email", "timezone"]
    inlines = [WeeklyHoursInline, HoursExceptionInline, AbsenceInline, ExternalCalendarInline]

    def has_add_permission(self, request):
        return False  # people are added in the directory

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("weekly_hours")

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is ExternalCalendar:
            for calendar in formset.new_objects:  # the worker fetches it; this request does not
                services.external_calendar_sync_request(calendar=calendar)

    @admin.display(description="working hours")
    def hours_summary(self, obj) -> str:
        days = "MTWTFSS"
        rows = list(obj.weekly_hours.all())
        if not rows:
            return "no limit"
        return ", ".join(f"{days[r.weekday]} {r.start:%H:%M}–{r.end:%H:%M}" for r in rows)


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ["person", "starts_at", "ends_at", "reason"]
    list_filter = ["starts_at"]
    search_fields = ["person__name", "person__email", "reason"]
    autocomplete_fields = ["person"]
    date_hierarchy = "starts_at"


@admin.register(RoomClosure)
class RoomClosureAdmin(admin.ModelAdmin):
    list_display = ["room", "starts_at", "ends_at", "reason"]
    list_filter = ["room__venue"]
    search_fields = ["room__name", "reason"]
    autocomplete_fields = ["room"]
    date_hierarchy = "starts_at"


@admin.register(ExternalCalendar)
class ExternalCalendarAdmin(admin.ModelAdmin):
    form = ExternalCalendarForm
    list_display = ["person", "last_synced_at", "busy_count", "last_error"]
    list_filter = [("last_error", admin.EmptyFieldListFilter)]
    search_fields = ["person__name", "person__email"]
    autocomplete_fields = ["person"]
    readonly_fields = ["last_attempt_at", "last_synced_at", "last_error", "busy_count", "created_at"]
    actions = ["sync_now"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            services.external_calendar_sync_request(calendar=obj)

    @admin.action(description="Sync now (queue a fetch of the selected calendars in the worker)")
    def sync_now(self, request, queryset):
        queued = sum(services.external_calendar_sync_request(calendar=calendar) for calendar in queryset)
        busy = queryset.count() - queued
        self.message_user(request, f"Queued {queued}; {busy} already queued or running. "
                                   "The results appear here once the worker has fetched them.", messages.SUCCESS)
