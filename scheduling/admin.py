"""Proposals in the admin: read-only (they are made, re-solved and accepted on the proposal page or the API)."""

from django.contrib import admin

from .models import Proposal, ProposalItem


class ProposalItemInline(admin.TabularInline):
    model = ProposalItem
    fields = readonly_fields = ("title", "kind", "starts_at", "ends_at", "room", "reason", "pinned", "removed", "meeting")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["id", "visit", "status", "solver_status", "created_at", "created_by"]
    list_filter = ["status", "solver_status"]
    search_fields = ["visit__reference", "visit__delegation__name"]
    list_select_related = ["visit__delegation", "created_by"]
    readonly_fields = ["visit", "status", "solver_status", "objective", "settings", "created_by", "created_at",
                       "updated_at", "accepted_at"]
    inlines = [ProposalItemInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
