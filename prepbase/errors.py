"""Domain errors: a human message, and the form field it belongs to when there is one."""

from __future__ import annotations


class DomainError(Exception):
    """An action the business rules refuse; views show `message` and answer 422."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The row is missing or belongs to someone else; views answer 404."""
