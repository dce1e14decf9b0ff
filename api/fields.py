"""Serializer fields that refuse, with a 400, inputs the database would choke on.

PostgreSQL rejects NUL characters in text and timestamps outside its range; a naive datetime would
silently be read in the server's zone. Each of these becomes a field error here, before any query.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone as djtz
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.text import single_line
from core.timezones import timezone_names

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema

#: The calendar range the API accepts; wide enough for any booking, narrow enough for every backend.
MIN_YEAR, MAX_YEAR = 1900, 2200

# What the schema promises, so that generated clients and schema-driven tests send only what is accepted:
# the years above, real months, days, hours and minutes, and (for instants) an explicit offset.
_YEAR = r"(19\d\d|2[01]\d\d|2200)"
_DATE = _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
#: A day between 1900 and 2200 (with ``format: date``, which rules out 30 February).
DATE_PATTERN = f"^{_DATE}$"
#: A wall-clock time: ``09:00``, ``09:00:00`` or with fractions.
TIME_PATTERN = f"^{_TIME}$"
#: An instant between 1900 and 2200 with its UTC offset: ``2026-12-01T10:00:00+01:00`` or ``…Z``.
DATETIME_PATTERN = f"^{_DATE}T{_TIME}(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)$"
#: An id: a positive 64-bit integer.
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
#: A one-line text with at least one visible character and no NUL byte.
ONE_LINE_PATTERN = r"^[^\x00]*[^\s\x00-\x1f\x7f-\x9f][^\x00]*$"


def _zones() -> frozenset[str]:
    """IANA names of places: not ``localtime`` or ``Factory`` (see ``core.timezones``)."""
    return timezone_names()


@extend_schema_field({"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN,
                     "example": "2026-12-01T10:00:00+01:00"})
class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit UTC offset; answers in UTC-offset ISO form."""

    default_error_messages = {
        "naive": "Give a UTC offset, e.g. 2026-12-01T10:00:00+01:00.",
        "range": f"Must be between the years {MIN_YEAR} and {MAX_YEAR}.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str) and "\x00" in value:
            self.fail("invalid", format="ISO 8601")
        if isinstance(value, datetime) and djtz.is_naive(value):
            self.fail("naive")
        parsed = value
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                self.fail("invalid", format="ISO 8601 with offset (YYYY-MM-DDThh:mm[:ss]±hh:mm)")
            if djtz.is_naive(parsed):
                self.fail("naive")
        if not isinstance(parsed, datetime):
            self.fail("invalid", format="ISO 8601 string")
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            self.fail("range")
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            self.fail("range")


@extend_schema_field({"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN,
                     "example": "2026-12-01T11:00:00+01:00"})
class EndDateTimeField(AwareDateTimeField):
    """The end of a period: after its start. The serializer checks that (JSON Schema cannot say it)."""


@extend_schema_field({"type": "string", "format": "date", "pattern": DATE_PATTERN, "example": "2026-12-01"})
class BoundedDateField(serializers.DateField):
    default_error_messages = {"range": f"Must be between the years {MIN_YEAR} and {MAX_YEAR}."}

    def to_internal_value(self, value: Any) -> date:
        if isinstance(value, str) and "\x00" in value:
            self.fail("invalid", format="YYYY-MM-DD")
        result = super().to_internal_value(value)
        if isinstance(result, date) and not MIN_YEAR <= result.year <= MAX_YEAR:
            self.fail("range")
        return result


@extend_schema_field({"type": "string", "enum": sorted(timezone_names()), "example": "Europe/Berlin"},
                     component_name="Timezone")
class TimezoneField(serializers.CharField):
    """An IANA time zone name (``Europe/Berlin``); the schema lists them (``TimezoneEnum``)."""

    default_error_messages = {"zone": "{value!r} is not an IANA time zone name (e.g. Europe/Berlin)."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in _zones():
            self.fail("zone", value=value[:64])
        return value


class SingleLineCharField(serializers.CharField):
    """A one-line text (a title, a name): CR, LF and other control characters become spaces.

    A line break in a title would end up in a mail's Subject header or an iCalendar property; a NUL
    byte cannot be stored by PostgreSQL at all, so it is refused.
    """

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        value = single_line(super().to_internal_value(data))
        if not value and not self.allow_blank:
            self.fail("blank")
        return value


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z]{2}$", "example": "DE"})  # blank: drf-spectacular adds it
class CountryField(SingleLineCharField):
    """An ISO 3166-1 alpha-2 country code (``DE``), or blank; answered in capitals."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2 code, e.g. DE")
        super().__init__(**kwargs)


class SingleLineSchema(OpenApiSerializerFieldExtension):
    """In the schema, a one-line text that must not be blank says, on input, that it needs a visible character
    (control characters and blanks are removed first). Answers are not constrained: a read-only copy of a
    model field may well be empty."""

    target_class = SingleLineCharField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> Any:
        schema: dict[str, Any] = auto_schema._map_serializer_field(  # type: ignore[no-untyped-call]
            self.target, direction, bypass_extensions=True)
        if direction == "request" and not self.target.allow_blank and not self.target.read_only:
            schema["pattern"] = ONE_LINE_PATTERN
        return schema


class SafeSlugRelatedField(serializers.SlugRelatedField[Any]):
    """A slug reference that never sends a non-string or a NUL byte to the database."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or "\x00" in data or len(data) > 200:
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(ID_SCHEMA)
class SafePrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """An id reference: integers only (no floats, booleans or numeric strings with junk)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, str):
            if not data.isdigit() or len(data) > 19:
                self.fail("incorrect_type", data_type="str")
            data = int(data)
        if not 0 < data < 2**63:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


def clean_token(value: str) -> str | None:
    """A URL token as it may be looked up, or None when it cannot be one (so: 404, no query)."""
    if not value or len(value) > 64 or "\x00" in value:
        return None
    return value


@extend_schema_field({"type": "string", "description": "An http(s) URL, or empty", "maxLength": 200})
class OptionalURLField(serializers.URLField):
    """A URL that may be blank: documented as a plain string, since "" is not an RFC 3986 URI."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)




@extend_schema_field({"type": "string", "pattern": TIME_PATTERN, "example": "08:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time (no offset, so not JSON Schema's ``format: time``, which requires one).

    Answers as the field's ``format`` says (``%H:%M`` for working hours, ISO ``08:00:00`` otherwise);
    both match the schema's pattern.
    """


#: The most a caller may give the solver, for every endpoint that solves: well below gunicorn's
#: timeout (``VISITDESK_SOLVE_MAX_SECONDS``, default 20 s of a 60-s ``VISITDESK_WEB_TIMEOUT``), so
#: model building and the answer fit too; ``api.deadline.solve_guard`` catches what still overruns.
MAX_TIME_LIMIT: float = settings.VISITDESK_SOLVE_MAX_SECONDS


def time_limit_field(default: float, *, min_value: float = 0.1) -> serializers.FloatField:
    return serializers.FloatField(min_value=min_value, max_value=MAX_TIME_LIMIT, required=False, default=default,
                                  help_text=f"Seconds the solver may search, at most {MAX_TIME_LIMIT:g}")


def id_list_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), max_length=200,
                                 **kwargs)
