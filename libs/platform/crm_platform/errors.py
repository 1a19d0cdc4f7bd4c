"""Errors as values with a stable code; each edge (HTTP, gRPC, bus) turns them into its own form."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Word(str):
    """A message parameter that is itself one of our words (e.g. ``what=Word("contact")``): translated too."""


class Phrase(str):
    """A message that reads as its English text and remembers its template and parameters for translation."""

    template: str
    params: Mapping[str, Any]

    def __new__(cls, template: str, params: Mapping[str, Any]) -> Phrase:
        made = super().__new__(cls, fill(template, params))
        made.template, made.params = template, dict(params)
        return made


def phrase(template: str, **params: Any) -> Phrase:
    """A translatable message: ``phrase("Phone in use by: {names}", names="Ana")`` reads "Phone in use by: Ana"."""
    return Phrase(template, params)


def msgid(message: str) -> str:
    """Marks a message kept aside (e.g. in a table) for the catalogs' extraction; it is translated where used."""
    return message


def _template_of(message: str, params: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if isinstance(message, Phrase):
        return message.template, {**message.params, **params}
    return message, params


def fill(template: str, params: Mapping[str, Any] | None) -> str:
    """``template`` with its ``{name}`` placeholders replaced; a template without parameters is left as is."""
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):  # a translation naming a placeholder the code does not pass
        return template


@dataclass
class FieldError:
    """One field's problem; ``message`` is an English template filled with ``params`` (see ``DomainError``)."""

    field: str
    message: str
    code: str = "invalid"
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.template, self.params = _template_of(self.message, self.params)
        self.message = Phrase(self.template, self.params)  # a str that keeps its template when passed on

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


@dataclass
class DomainError(Exception):
    """Base of every error meant for the caller: ``code`` is stable, ``detail`` is for humans.

    ``detail`` (and ``title``) are English gettext msgids; with ``params`` (or given as a ``phrase``) the
    detail is a template such as ``"Phone in use by: {names}; Responsible: {owner}"``. ``detail`` reads
    filled in, in English; the HTTP edge renders ``template`` in the caller's language (``crm_platform.i18n``).
    """

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    code = "error"
    http_status = 400
    title = "Bad request"

    def __post_init__(self) -> None:
        self.template, self.params = _template_of(self.detail, self.params)
        self.detail = Phrase(self.template, self.params)

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
