"""How contact data is normalised, so that duplicates are found by index lookups whatever the spelling."""

from __future__ import annotations

import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm_platform.errors import FieldError


def normalize_email(raw: str) -> tuple[str | None, FieldError | None]:
    """Lower-cased, syntax-checked address (no DNS lookup), or the reason it is not one."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        return None, FieldError("email", str(exc), "invalid_email")
    return checked.normalized.lower(), None


def normalize_phone(raw: str, default_region: str) -> tuple[str | None, FieldError | None]:
    """The number in E.164, reading numbers without a country code in ``default_region``."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        return None, FieldError("phone", f"not a phone number: {exc}", "invalid_phone")
    if not phonenumbers.is_valid_number(number):
        return None, FieldError("phone", f"{raw!r} is not a valid number for region {default_region}", "invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def clean_name(raw: str) -> tuple[str | None, FieldError | None]:
    name = " ".join(raw.split())
    if not name:
        return None, FieldError("name", "must not be empty", "required")
    return name, None


def search_key(name: str) -> str:
    """Lower-cased, accents removed, spaces collapsed: ``Ána  Ruiz`` and ``ana ruiz`` find each other."""
    decomposed = unicodedata.normalize("NFKD", name)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())
