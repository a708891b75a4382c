"""Domain errors. The API's single exception handler turns each into one JSON error shape."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the domain refuses; `status` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class ValidationFailed(DomainError):
    status = 400


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class StaleVersion(DomainError):
    status = 409


class Conflict(DomainError):
    status = 409


def first_message(detail: Any) -> str:
    """The first message of a serializer's (nested) errors, prefixed with its field: "epochs: ..."."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = first_message(value)
            return inner if key in ("detail", "non_field_errors") else f"{key}: {inner}"
    if isinstance(detail, list) and detail:
        return first_message(detail[0])
    return str(detail)
