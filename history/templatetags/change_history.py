"""``{% change_history object %}``: the object's change history as a table (the admin's history pages)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db import models

from history.context import recording
from history.selectors import object_history

register = template.Library()


@register.inclusion_tag("history/change_history.html")
def change_history(obj: models.Model) -> dict[str, Any]:
    return {"recorded": recording(), "entries": object_history(obj)}
