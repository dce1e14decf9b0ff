from core.errors import DomainError


class InvalidTransition(DomainError):
    """The visit cannot go from its current status to the one asked for."""

    code = "invalid_transition"
    status = 409


class WorldChanged(DomainError):
    """Booking found a person or room busy that was free when the schedule was computed."""

    code = "world_changed"
    status = 409
