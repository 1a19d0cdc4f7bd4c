"""Whether custom field values fit the workspace's definitions: each kind's syntax, choices and required ones."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, Protocol
from urllib.parse import urlsplit

from crm_contacts.record import rules as contact_rules
from crm_platform.errors import FieldError

MAX_TEXT_LENGTH = 5000


class Definition(Protocol):
    """What validation needs of a custom field (``customfields.models.CustomField`` has it).

    Read-only, so a frozen definition (``bulk.rows.CustomFieldRule``) is one too.
    """

    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def options(self) -> list[Any]: ...
    @property
    def required(self) -> bool: ...


Checked = tuple[Any, str | None, str]  # (clean value, error message or None, error code)


def _text(value: Any, _options: list[Any], _region: str | None) -> Checked:
    if not isinstance(value, str):
        return None, "must be text", "invalid_type"
    if len(value) > MAX_TEXT_LENGTH:
        return None, f"at most {MAX_TEXT_LENGTH} characters", "too_long"
    return value.strip(), None, ""


def _number(value: Any, _options: list[Any], _region: str | None) -> Checked:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, "must be a number", "invalid_type"
    return value, None, ""


def _date(value: Any, _options: list[Any], _region: str | None) -> Checked:
    if not isinstance(value, str):
        return None, "must be a date as YYYY-MM-DD", "invalid_type"
    try:
        return date.fromisoformat(value.strip()).isoformat(), None, ""
    except ValueError:
        return None, "must be a date as YYYY-MM-DD", "invalid_date"


def _boolean(value: Any, _options: list[Any], _region: str | None) -> Checked:
    if not isinstance(value, bool):
        return None, "must be true or false", "invalid_type"
    return value, None, ""


def _select(value: Any, options: list[Any], _region: str | None) -> Checked:
    if value not in options:
        return None, f"must be one of {', '.join(map(str, options))}", "invalid_choice"
    return value, None, ""


def _multiselect(value: Any, options: list[Any], _region: str | None) -> Checked:
    if not isinstance(value, list):
        return None, "must be a list of choices", "invalid_type"
    unknown = [v for v in value if v not in options]
    if unknown:
        return None, f"not among the choices: {', '.join(map(str, unknown))}", "invalid_choice"
    return list(dict.fromkeys(value)), None, ""


def _url(value: Any, _options: list[Any], _region: str | None) -> Checked:
    if not isinstance(value, str):
        return None, "must be an http or https URL", "invalid_type"
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None, "must be an http or https URL", "invalid_url"
    return value.strip(), None, ""


def _email(value: Any, _options: list[Any], _region: str | None) -> Checked:
    if not isinstance(value, str):
        return None, "must be an email address", "invalid_type"
    address, error = contact_rules.normalize_email(value)
    return (address, None, "") if error is None else (None, error.message, "invalid_email")


def _phone(value: Any, _options: list[Any], region: str | None) -> Checked:
    if not isinstance(value, str):
        return None, "must be a phone number", "invalid_type"
    number, error = contact_rules.normalize_phone(value, region or "ZZ")
    return (number, None, "") if error is None else (None, error.message, "invalid_phone")


CHECKS: dict[str, Callable[[Any, list[Any], str | None], Checked]] = {
    "text": _text,
    "number": _number,
    "date": _date,
    "boolean": _boolean,
    "select": _select,
    "multiselect": _multiselect,
    "url": _url,
    "email": _email,
    "phone": _phone,
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def validate_values(
    definitions: Iterable[Definition], values: dict[str, Any], *, partial: bool = False, region: str | None = None
) -> tuple[dict[str, Any], list[FieldError]]:
    """The values cleaned (emails lower-cased, phones in E.164 read in ``region``, dates ISO) and the field errors.

    ``None`` (or an empty text or list) clears a value: it comes back as ``None`` so the caller drops the key.
    ``partial`` (an update): required fields that are not in ``values`` are not reported missing.
    Errors are on ``custom_fields.<key>``: unknown keys, wrong kinds, and missing or cleared required fields.
    """
    by_key = {d.key: d for d in definitions}
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in values.items():
        field = f"custom_fields.{key}"
        definition = by_key.get(key)
        if definition is None:
            errors.append(FieldError(field, "no custom field with this key", "unknown_field"))
            continue
        if _empty(value):
            if definition.required:
                errors.append(FieldError(field, "this field is required", "required"))
            else:
                clean[key] = None
            continue
        check = CHECKS.get(definition.kind)
        if check is None:  # a kind this version does not know: refuse rather than store unchecked data
            errors.append(FieldError(field, f"unsupported kind {definition.kind!r}", "invalid_type"))
            continue
        cleaned, message, code = check(value, list(definition.options or []), region)
        if message is not None:
            errors.append(FieldError(field, message, code))
        else:
            clean[key] = cleaned
    if not partial:
        for key, definition in by_key.items():
            if definition.required and key not in values:
                errors.append(FieldError(f"custom_fields.{key}", "this field is required", "required"))
    return clean, errors
