"""The outbox for coordinators: what is owed, what went out, what failed and why; retry in one click."""

from __future__ import annotations

from django.contrib import admin, messages

from . import dispatch
from .models import InviteState, OutboxMessage, ProgrammeState


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "person", "meeting", "visit", "due_at", "state", "attempts", "sent_at", "short_error")
    list_filter = ("state", "kind", "due_at", "attempts")
    search_fields = ("key", "person__email", "person__name", "meeting__title", "visit__reference", "last_error")
    date_hierarchy = "due_at"
    list_select_related = ("person", "meeting", "visit")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry", "cancel"]

    def has_add_permission(self, request):
        return False  # rows are owed by the reconciler, never typed in

    @admin.display(description="last error")
    def short_error(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80]

    @admin.action(description="Retry now (failed or cancelled)", permissions=["change"])
    def retry(self, request, queryset):
        count = dispatch.retry_now(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} message(s) will be sent with the next dispatch.", messages.SUCCESS)

    @admin.action(description="Cancel (pending only)", permissions=["change"])
    def cancel(self, request, queryset):
        count = queryset.filter(state=OutboxMessage.State.PENDING).update(
            state=OutboxMessage.State.CANCELLED, last_error=f"cancelled by {request.user}"
        )
        self.message_user(request, f"{count} message(s) cancelled.", messages.SUCCESS)


@admin.register(InviteState)
class InviteStateAdmin(admin.ModelAdmin):
    list_display = ("person", "meeting", "method", "sequence", "role", "told_at")
    list_filter = ("method",)
    search_fields = ("person__email", "meeting__title", "uid")
    list_select_related = ("person", "meeting")
    readonly_fields = [f.name for f in InviteState._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ProgrammeState)
class ProgrammeStateAdmin(admin.ModelAdmin):
    """What each delegation member was last told about their visit's programme (read-only)."""

    list_display = ["person", "visit", "revision", "told_at"]
    list_select_related = ["person", "visit"]
    search_fields = ["person__name", "person__email", "visit__reference"]
    readonly_fields = [f.name for f in ProgrammeState._meta.fields]

    def has_add_permission(self, request):
        return False
