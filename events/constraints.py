"""An exclusion constraint that exists on PostgreSQL and is silently absent elsewhere.

SQLite is only for the zero-set-up dev run; there the services' own overlap check is the guard.
On PostgreSQL the database itself refuses double bookings, including under concurrent requests.
"""

from typing import Any

from django.contrib.postgres.constraints import ExclusionConstraint


class PostgresExclusionConstraint(ExclusionConstraint):
    def _is_postgres(self, schema_editor: Any) -> bool:
        return bool(schema_editor.connection.vendor == "postgresql")

    def constraint_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().constraint_sql(model, schema_editor) if self._is_postgres(schema_editor) else None

    def create_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().create_sql(model, schema_editor) if self._is_postgres(schema_editor) else None

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().remove_sql(model, schema_editor) if self._is_postgres(schema_editor) else None

    def validate(self, model: Any, instance: Any, exclude: Any = None, using: str = "default") -> None:
        """No model-level validation: forms and the admin go through ``events.services``, whose
        overlap query names the conflicting meeting, and the database enforces the rest.

        Django's own ``validate()`` cannot evaluate this condition for forms that leave ``status``
        out (FieldError), and would only duplicate the services' check.
        """
        return
