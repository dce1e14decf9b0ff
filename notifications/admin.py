"""The outbox for coordinators: what is owed, what went out, what failed and why; retry in one click.

And what arrived in the organiser mailbox: every message taken, answers held for a coordinator
(confirm / reject) and counter-proposals (accept / decline), decided through ``notifications.replies``.
"""

from __future__ import annotations

from django.contrib import admin, messages

from core.errors import DomainError

from . import dispatch, replies
from .models import CounterProposal, HeldAnswer, InboundMessage, InviteState, OutboxMessage, ProgrammeState


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


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "sender", "subject", "method", "outcome")
    list_filter = ("outcome", "method", "received_at")
    search_fields = ("sender", "subject", "message_id", "detail")
    date_hierarchy = "received_at"
    readonly_fields = [f.name for f in InboundMessage._meta.fields if f.name != "raw"]
    exclude = ("raw",)

    def has_add_permission(self, request):
        return False  # taken from the mailbox, never typed in


def _decide(modeladmin, request, queryset, decide, done: str) -> None:
    count, failed = 0, []
    for obj in queryset:
        try:
            decide(obj)
            count += 1
        except DomainError as exc:
            failed.append(f"{obj}: {exc}")
    if count:
        modeladmin.message_user(request, f"{count} {done}.", messages.SUCCESS)
    for text in failed:
        modeladmin.message_user(request, text, messages.ERROR)


@admin.register(HeldAnswer)
class HeldAnswerAdmin(admin.ModelAdmin):
    list_display = ("created_at", "meeting", "person", "kind", "answer", "sender", "delegate_email", "state")
    list_filter = ("state", "kind")
    search_fields = ("person__email", "sender", "delegate_email", "meeting__title")
    list_select_related = ("meeting", "person")
    readonly_fields = [f.name for f in HeldAnswer._meta.fields]
    actions = ["confirm", "reject"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Confirm: apply the answer / add the delegate", permissions=["change"])
    def confirm(self, request, queryset):
        _decide(self, request, queryset, lambda held: replies.held_answer_confirm(held=held, user=request.user),
                "answer(s) confirmed")

    @admin.action(description="Reject", permissions=["change"])
    def reject(self, request, queryset):
        _decide(self, request, queryset, lambda held: replies.held_answer_reject(held=held, user=request.user),
                "answer(s) rejected")


@admin.register(CounterProposal)
class CounterProposalAdmin(admin.ModelAdmin):
    list_display = ("created_at", "meeting", "person", "starts_at", "ends_at", "state")
    list_filter = ("state",)
    search_fields = ("person__email", "meeting__title", "comment")
    list_select_related = ("meeting", "person")
    readonly_fields = [f.name for f in CounterProposal._meta.fields]
    actions = ["accept", "decline"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Accept: move the meeting to the proposed time", permissions=["change"])
    def accept(self, request, queryset):
        _decide(self, request, queryset, lambda c: replies.counter_accept(counter=c, user=request.user),
                "proposal(s) accepted")

    @admin.action(description="Decline: send DECLINECOUNTER", permissions=["change"])
    def decline(self, request, queryset):
        _decide(self, request, queryset, lambda c: replies.counter_decline(counter=c, user=request.user),
                "proposal(s) declined")
@admin.register(ProgrammeState)
class ProgrammeStateAdmin(admin.ModelAdmin):
    """What each delegation member was last told about their visit's programme (read-only)."""

    list_display = ["person", "visit", "revision", "told_at"]
    list_select_related = ["person", "visit"]
    search_fields = ["person__name", "person__email", "visit__reference"]
    readonly_fields = [f.name for f in ProgrammeState._meta.fields]

    def has_add_permission(self, request):
        return False
