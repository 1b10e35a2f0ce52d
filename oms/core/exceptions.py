"""The domain error family. Services raise these; the API maps them to 400/409 and the
admin to messages. Each carries the data a caller needs to explain the refusal."""

from typing import Any


class DomainError(Exception):
    """A business rule refused the request. Nothing was changed."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.message, "code": self.code, **self.data}


class ValidationFailed(DomainError):
    """Input broke a rule; `errors` maps field names to messages."""

    code = "invalid"

    def __init__(self, errors: dict[str, Any], message: str = "Invalid input.") -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class IllegalTransition(DomainError):
    """A state machine refused a move; `status` is the record's unchanged current state."""

    code = "illegal_transition"
    http_status = 409

    def __init__(self, message: str, *, status: str, **data: Any) -> None:
        super().__init__(message, status=status, **data)
        self.status = status


class Conflict(DomainError):
    """The request contradicts the current state (a duplicate with another body, ...)."""

    code = "conflict"
    http_status = 409


class InsufficientStock(Conflict):
    code = "insufficient_stock"
