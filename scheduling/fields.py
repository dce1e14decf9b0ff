"""JSON columns whose Python value is a typed value (``scheduling.values``), converted on read and assignment.

The column stays ``jsonb`` (JSON text on SQLite): a migration to these fields changes no table. The
value is converted when a row is loaded and whenever the attribute is assigned, so code never sees a
raw dict; it is turned back into JSON when saved, serialized or displayed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from .values import Frame, ItemSpec, Participants, RepairPlan, participants_from_json, participants_to_json

_ST = TypeVar("_ST")
_GT = TypeVar("_GT")

if TYPE_CHECKING:  # django-stubs: JSONField[set type, get type] types the model attribute
    _JSONField = models.JSONField
else:
    class _JSONField(models.JSONField, Generic[_ST, _GT]):
        pass


class _Converting(DeferredAttribute):
    """The field's attribute on a model instance: whatever is assigned is stored as the typed value."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = self.field.to_python(value)


class _ValueField(_JSONField[_ST, _GT]):
    descriptor_class = _Converting

    def decode(self, data: Any) -> Any:
        raise NotImplementedError

    def encode(self, value: Any) -> Any:
        raise NotImplementedError

    def is_value(self, value: Any) -> bool:
        raise NotImplementedError

    def to_python(self, value: Any) -> Any:
        if value is None or self.is_value(value):
            return value
        return self.decode(value)

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(self.encode(value) if value is not None and self.is_value(value) else value)

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        super().validate(self.get_prep_value(value), model_instance)

    def value_to_string(self, obj: models.Model) -> Any:
        return self.get_prep_value(self.value_from_object(obj))


class FrameField(_ValueField[Frame | dict[str, Any], Frame]):
    """``Frame`` in Python, its ``to_json()`` in the column."""

    def decode(self, data: Any) -> Frame:
        return Frame.from_json(data)

    def encode(self, value: Frame) -> dict[str, Any]:
        return value.to_json()

    def is_value(self, value: Any) -> bool:
        return isinstance(value, Frame)


class ItemSpecField(_ValueField[ItemSpec | dict[str, Any], ItemSpec]):
    """``ItemSpec`` in Python, its ``to_json()`` in the column."""

    def decode(self, data: Any) -> ItemSpec:
        return ItemSpec.from_json(data)

    def encode(self, value: ItemSpec) -> dict[str, Any]:
        return value.to_json()

    def is_value(self, value: Any) -> bool:
        return isinstance(value, ItemSpec)


class ParticipantsField(_ValueField[Participants | list[dict[str, Any]], Participants]):
    """``Participants`` in Python, its ``to_json()`` in the column."""

    def decode(self, data: Any) -> Participants:
        return participants_from_json(data)

    def encode(self, value: Participants) -> list[dict[str, Any]]:
        return participants_to_json(value)

    def is_value(self, value: Any) -> bool:
        return isinstance(value, tuple)


class RepairPlanField(_ValueField[RepairPlan | dict[str, Any] | None, RepairPlan | None]):
    """``RepairPlan`` in Python (or None: no repair previewed yet), its ``to_json()`` in the column."""

    def decode(self, data: Any) -> RepairPlan:
        return RepairPlan.from_json(data)

    def encode(self, value: RepairPlan) -> dict[str, Any]:
        return value.to_json()

    def is_value(self, value: Any) -> bool:
        return isinstance(value, RepairPlan)
