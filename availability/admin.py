"""Admin for availability: a person's hours, exceptions, absences and calendars on one page; closures.

Absence reasons and calendar addresses are private; the admin is for coordinators, who may see them.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

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


class ExternalCalendarInline(admin.TabularInline):
    model = ExternalCalendar
    form = ExternalCalendarForm
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

    @admin.action(description="Sync now (fetch the selected calendars)")
    def sync_now(self, request, queryset):
        failed = 0
        for calendar in queryset.select_related("person"):
            if services.external_calendar_sync(calendar=calendar).last_error:
                failed += 1
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, f"Synced {queryset.count() - failed}, failed {failed}.", level)
