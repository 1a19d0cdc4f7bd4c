"""One CSV row as a contact: which column is which field, and the checks ``POST /v1/contacts`` makes, without I/O.

The import reads the workspace once into ``Lookups`` (types, stages, members, sources, custom fields), so each
row is checked by plain functions; duplicates against the database are the import's business (bulk.imports).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_contacts.customfields.rules import validate_values
from crm_contacts.record import rules as contact_rules
from crm_contacts.record.models import ACTIVE, STATUSES
from crm_contacts.record.rules import clean_name, normalize_email, normalize_phone, search_key
from crm_platform.errors import FieldError, InvalidInput

SIMPLE_FIELDS = (
    "name",
    "email",
    "emails",
    "phone",
    "phones",
    "type",
    "stage",
    "status",
    "owner",
    "source",
    "tags",
    "stars",
    "language",
    "color",
    "emoji",
)
LOCATION_PARTS = ("address", "city", "region", "postal_code", "country")
IGNORED_COLUMNS = ("id", "created_at", "updated_at")  # what an export writes that an import cannot set
LIST_SEPARATOR = re.compile(r"[;,]")


@dataclass(frozen=True)
class CustomFieldRule:
    """A custom field's definition as ``customfields.rules.validate_values`` reads it."""

    key: str
    kind: str
    options: list[Any] = field(default_factory=list)
    required: bool = False


@dataclass
class Lookups:
    """The workspace as rows are checked against it; keys are lower-cased where users type names."""

    region: str
    default_type_id: str | None
    types: dict[str, str] = field(default_factory=dict)  # key, lower name or id -> type id
    type_keys: dict[str, str] = field(default_factory=dict)  # type id -> key
    stages: dict[str, dict[str, str]] = field(default_factory=dict)  # type id -> (stage id or lower name -> id)
    first_stage: dict[str, str] = field(default_factory=dict)  # type id -> first stage id
    members: dict[str, str] = field(default_factory=dict)  # active members: id or lower email -> id
    sources: dict[str, str] = field(default_factory=dict)  # id, key or lower name -> id
    custom_fields: dict[str, CustomFieldRule] = field(default_factory=dict)
    default_owner_id: str | None = None  # the importing member, as a single create defaults to the caller
    default_source_id: str | None = None  # the built-in "manual" source, as a single create


@dataclass
class Draft:
    """A checked row, ready to insert."""

    name: str
    name_key: str
    emails: list[str]
    phones: list[str]
    type_id: str | None
    stage_id: str | None
    status: str = ACTIVE
    owner_id: str | None = None
    source_id: str | None = None
    tags: list[str] = field(default_factory=list)
    stars: int = 0
    language: str | None = None
    color: str | None = None
    emoji: str | None = None
    location: dict[str, str] = field(default_factory=dict)
    messengers: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)


def is_field(name: str, custom_keys: Sequence[str]) -> bool:
    if name in SIMPLE_FIELDS:
        return True
    if name.startswith("location."):
        return name.removeprefix("location.") in LOCATION_PARTS
    if name.startswith("messenger."):
        return bool(name.removeprefix("messenger.").strip())
    if name.startswith("cf."):
        return name.removeprefix("cf.") in custom_keys
    return False


def map_columns(
    header: Sequence[str], mapping: Mapping[str, str | None] | None, custom_keys: Sequence[str]
) -> dict[int, str]:
    """Column position -> field. Without a mapping the header names the fields; id/created_at are skipped."""
    mapping = mapping or {}
    errors: list[FieldError] = []
    unknown_mapped = [column for column in mapping if column not in header]
    if unknown_mapped:
        errors.append(FieldError("mapping", f"no column {', '.join(unknown_mapped)} in the file", "unknown_column"))
    columns: dict[int, str] = {}
    for position, column in enumerate(header):
        name = column.strip()
        target = mapping[column] if column in mapping else name.lower() if name.lower() in SIMPLE_FIELDS else name
        if not target or (column not in mapping and name.lower() in IGNORED_COLUMNS):
            continue
        if not is_field(target, custom_keys):
            where = f"mapping.{column}" if column in mapping else f"column {column!r}"
            errors.append(
                FieldError(
                    "file" if column not in mapping else f"mapping.{column}",
                    f"{where}: {target!r} is not a contact field",
                    "unknown_field",
                )
            )
            continue
        if target in columns.values():
            errors.append(FieldError("file", f"two columns are {target!r}", "duplicate_column"))
            continue
        columns[position] = target
    if not errors and "name" not in columns.values():
        errors.append(FieldError("file", "a column must hold the contact's name", "required"))
    if errors:
        raise InvalidInput("the file's columns cannot be imported", errors=errors)
    return columns


def check_row(values: Mapping[str, str], lookups: Lookups) -> tuple[Draft | None, list[FieldError]]:
    """The row as a contact, or every reason it cannot be one (as ``POST /v1/contacts`` would refuse it)."""
    errors: list[FieldError] = []

    def note(error: FieldError | None) -> None:
        if error is not None:
            errors.append(error)

    name, error = clean_name(values.get("name", ""))
    note(error)
    emails: list[str] = []
    for raw in _listed(values.get("email", "")) + _listed(values.get("emails", "")):
        email, error = normalize_email(raw)
        note(_renamed(error, "email" if "email" in values else "emails"))
        if email and email not in emails:
            emails.append(email)
    phones: list[str] = []
    for raw in _listed(values.get("phone", "")) + _listed(values.get("phones", "")):
        phone, error = normalize_phone(raw, lookups.region)
        note(_renamed(error, "phone" if "phone" in values else "phones"))
        if phone and phone not in phones:
            phones.append(phone)

    type_id = lookups.default_type_id
    if raw_type := values.get("type", "").strip():
        type_id = lookups.types.get(raw_type) or lookups.types.get(raw_type.lower())
        if type_id is None:
            errors.append(FieldError("type", f"unknown contact type {raw_type!r}", "unknown_type"))
    stage_id = lookups.first_stage.get(type_id or "")
    if raw_stage := values.get("stage", "").strip():
        stage_id = lookups.stages.get(type_id or "", {}).get(raw_stage) or lookups.stages.get(type_id or "", {}).get(
            raw_stage.lower()
        )
        if stage_id is None and type_id is not None:
            errors.append(FieldError("stage", f"no stage {raw_stage!r} for this contact type", "unknown_stage"))
    status = values.get("status", "").strip().lower() or ACTIVE
    if status not in STATUSES:
        errors.append(FieldError("status", f"one of {', '.join(STATUSES)}", "invalid_status"))
    owner_id = lookups.default_owner_id
    if raw_owner := values.get("owner", "").strip():
        owner_id = lookups.members.get(raw_owner) or lookups.members.get(raw_owner.lower())
        if owner_id is None:
            errors.append(FieldError("owner", f"{raw_owner!r} is not an active member", "unknown_member"))
    source_id = lookups.default_source_id
    if raw_source := values.get("source", "").strip():
        source_id = lookups.sources.get(raw_source) or lookups.sources.get(raw_source.lower())
        if source_id is None:
            errors.append(FieldError("source", f"unknown source {raw_source!r}", "unknown_source"))
    tags, found = contact_rules.clean_tags(_listed(values.get("tags", "")))
    errors.extend(FieldError("tags", e.message, e.code) for e in found)
    stars = 0
    if raw_stars := values.get("stars", "").strip():
        if raw_stars in ("0", "1", "2", "3"):
            stars = int(raw_stars)
        else:
            errors.append(FieldError("stars", "a whole number from 0 to 3", "out_of_range"))
    color, error = contact_rules.clean_color(values.get("color", "").strip())
    note(error)
    emoji, error = contact_rules.clean_emoji(values.get("emoji", "").strip())
    note(error)
    language, error = contact_rules.clean_language(values.get("language", "").strip())
    note(error)
    location = contact_rules.clean_location(
        {key.removeprefix("location."): value for key, value in values.items() if key.startswith("location.")}
    )
    messengers, found = contact_rules.clean_messengers(
        {key.removeprefix("messenger."): value for key, value in values.items() if key.startswith("messenger.")}
    )
    errors.extend(found)
    typed: dict[str, Any] = {}
    for key, value in values.items():
        if key.startswith("cf.") and value.strip():
            cf_key = key.removeprefix("cf.")
            typed[cf_key], error_message = typed_value(lookups.custom_fields[cf_key].kind, value.strip())
            if error_message:
                errors.append(FieldError(key, error_message, "invalid_type"))
                typed.pop(cf_key)
    custom, found = validate_values(lookups.custom_fields.values(), typed, region=lookups.region)
    errors.extend(FieldError(f"cf.{e.field.removeprefix('custom_fields.')}", e.message, e.code) for e in found)
    custom = {k: v for k, v in custom.items() if v is not None}

    if errors or name is None:
        return None, errors
    return (
        Draft(
            name=name,
            name_key=search_key(name),
            emails=emails,
            phones=phones,
            type_id=type_id,
            stage_id=stage_id,
            status=status,
            owner_id=owner_id,
            source_id=source_id,
            tags=tags,
            stars=stars,
            language=language,
            color=color,
            emoji=emoji,
            location=location,
            messengers=messengers,
            custom_fields=custom,
        ),
        [],
    )


def typed_value(kind: str, raw: str) -> tuple[Any, str | None]:
    """A cell's text as the JSON value a custom field of this kind holds (its checks come after)."""
    if kind == "number":
        try:
            number = float(raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw)
        except ValueError:
            return None, "must be a number"
        return (int(number) if number.is_integer() else number), None
    if kind == "boolean":
        lowered = raw.lower()
        if lowered in ("true", "yes", "1", "sí", "si"):
            return True, None
        if lowered in ("false", "no", "0"):
            return False, None
        return None, "must be true or false"
    if kind == "multiselect":
        return list(dict.fromkeys(_listed(raw))), None
    return raw, None


def _listed(raw: str) -> list[str]:
    return [part.strip() for part in LIST_SEPARATOR.split(raw or "") if part.strip()]


def _renamed(error: FieldError | None, field_name: str) -> FieldError | None:
    return FieldError(field_name, error.message, error.code) if error else None
