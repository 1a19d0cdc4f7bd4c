"""Errors as values with a stable code; each edge (HTTP, gRPC, bus) turns them into its own form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


@dataclass
class DomainError(Exception):
    """Base of every error meant for the caller: ``code`` is stable, ``detail`` is for humans."""

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    code = "error"
    http_status = 400
    title = "Bad request"

    def __str__(self) -> str:
        return self.detail


class InvalidInput(DomainError):
    code = "invalid-input"
    http_status = 422
    title = "The request has invalid fields"


class NotFound(DomainError):
    code = "not-found"
    http_status = 404
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    code = "precondition-failed"
    http_status = 412
    title = "The resource changed since you read it"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    http_status = 401
    title = "Authentication required"


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403
    title = "Not allowed"


class Unavailable(DomainError):
    code = "unavailable"
    http_status = 503
    title = "A service this request needs is unavailable"
