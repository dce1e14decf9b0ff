from core.errors import DomainError


class InvalidTransition(DomainError):
    """The visit cannot go from its current status to the one asked for."""

    code = "invalid_transition"
    status = 409
