"""Webhooks for coordinators: endpoints (secret shown once, rotate, send a test event, enable again)
and the delivery log with each attempt's status code. Every write goes through ``services``."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from core.errors import DomainError

from . import services
from .delivery import body_of
from .models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointForm(forms.ModelForm):
    url = forms.CharField(max_length=2000, help_text="A public http(s) address; each delivery is POSTed there, signed.")
    event_types = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "is_active"]

    def clean_url(self) -> str:
        try:
            return services.check_url(self.cleaned_data["url"])
        except DomainError as exc:
            raise ValidationError(exc.message) from exc

    def clean_event_types(self) -> list[str]:
        try:
            return services.check_event_types(self.cleaned_data["event_types"])
        except DomainError as exc:
            raise ValidationError(exc.message) from exc


def _show_secret(request: Any, endpoint: WebhookEndpoint) -> None:
    messages.warning(request, format_html(
        "Signing secret of {}: <code>{}</code> — copy it now; it is not shown again.", endpoint.url, endpoint.secret))


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("id", "url", "description", "events", "is_active", "failing_since", "disabled_reason")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    readonly_fields = ("failing_since", "disabled_at", "disabled_reason", "previous_secret_until", "created_by",
                       "created_at", "updated_at")
    actions = ["send_test_event", "rotate_secret", "enable"]

    @admin.display(description="events")
    def events(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types or [])

    def save_model(self, request: Any, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = services.endpoint_update(endpoint=obj, url=data["url"], event_types=data["event_types"],
                                             description=data["description"], is_active=data["is_active"])
        else:
            saved = services.endpoint_create(url=data["url"], event_types=data["event_types"],
                                             description=data["description"], created_by=request.user)
            if not data["is_active"]:
                saved = services.endpoint_update(endpoint=saved, is_active=False)
            _show_secret(request, saved)
        obj.pk = saved.pk  # the admin redirects to the saved row

    def delete_model(self, request: Any, obj: WebhookEndpoint) -> None:
        services.endpoint_delete(endpoint=obj)

    @admin.action(description="Send a test event")
    def send_test_event(self, request: Any, queryset: Any) -> None:
        for endpoint in queryset:
            services.endpoint_send_test(endpoint=endpoint)
        messages.success(request, f"Test event queued for {queryset.count()} endpoint(s); see the deliveries.")

    @admin.action(description="Rotate the signing secret (the old one signs for 24 more hours)")
    def rotate_secret(self, request: Any, queryset: Any) -> None:
        for endpoint in queryset:
            _show_secret(request, services.endpoint_rotate_secret(endpoint=endpoint))

    @admin.action(description="Enable again (the failure count starts afresh)")
    def enable(self, request: Any, queryset: Any) -> None:
        for endpoint in queryset:
            services.endpoint_update(endpoint=endpoint, is_active=True)
        messages.success(request, "Enabled; waiting deliveries go out with the next dispatch.")


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "endpoint", "event_type", "webhook_id", "state", "attempts", "last_status_code",
                    "short_error", "created_at", "delivered_at")
    list_filter = ("state", "event__type", "last_status_code", "endpoint")
    search_fields = ("event__webhook_id", "event__subject", "endpoint__url", "last_error")
    list_select_related = ("endpoint", "event")
    readonly_fields = ("endpoint", "event_type", "webhook_id", "state", "attempts", "due_at", "last_status_code",
                       "last_error", "delivered_at", "created_at", "payload")
    fields = readonly_fields
    inlines = [AttemptInline]
    actions = ["retry_now"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # deliveries are owed by events, never typed in

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.display(description="event", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="webhook-id")
    def webhook_id(self, obj: WebhookDelivery) -> str:
        return obj.event.webhook_id

    @admin.display(description="last error")
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.last_error[:80]

    @admin.display(description="payload (as signed)")
    def payload(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(body_of(obj.event)), indent=2, ensure_ascii=False))

    @admin.action(description="Retry now (failed deliveries)")
    def retry_now(self, request: Any, queryset: Any) -> None:
        count = services.deliveries_retry(ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} delivery(ies) queued again.")
