"""Template helpers for the pages."""

from django import template

from .. import labels

register = template.Library()


@register.filter
def label(value):
    """``{{ visit.status|label }}`` → "Confirmed" / "Bestätigt"."""
    return labels.label(value)
