"""Use cases on custom field definitions; the values live in ``Contact.custom_fields`` (see rules.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_contacts.customfields.models import KINDS, CustomField
from crm_contacts.funnel.rules import slugify
from crm_platform.db import UnitOfWork, get_in_workspace
from crm_platform.errors import Conflict, FieldError, InvalidInput
from crm_platform.ids import new_id

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
CHOICE_KINDS = ("select", "multiselect")
MAX_OPTIONS = 200
MAX_OPTION_LENGTH = 100


def definitions(session: Session, workspace_id: str) -> list[CustomField]:
    """The workspace's custom fields in display order, inside the caller's transaction."""
    query = (
        select(CustomField)
        .where(CustomField.workspace_id == workspace_id)
        .order_by(CustomField.position, CustomField.id)
    )
    return list(session.scalars(query))


# --- pure checks of a definition (no database) -------------------------------------------------------------


def clean_key(key: str | None, label: str) -> tuple[str, FieldError | None]:
    """The given key, or one made from the label (``"Budget (€)"`` -> ``"budget"``); a lower-case identifier."""
    if key is None:
        derived = slugify(label, separator="_")
        derived = derived if not derived[:1].isdigit() else f"f_{derived}"[:60]
        if not KEY_PATTERN.match(derived):
            return derived, FieldError("key", "cannot be made from the label; give a key", "required")
        return derived, None
    if not KEY_PATTERN.match(key):
        return key, FieldError(
            "key", "a lower-case letter, then letters, digits or _ (at most 60), e.g. budget_max", "invalid_key"
        )
    return key, None


def clean_label(label: str) -> tuple[str, FieldError | None]:
    cleaned = " ".join(label.split())
    if not cleaned:
        return cleaned, FieldError("label", "must not be empty", "required")
    if len(cleaned) > 100:
        return cleaned, FieldError("label", "must be at most 100 characters", "too_long")
    return cleaned, None


def clean_kind(kind: str) -> FieldError | None:
    if kind not in KINDS:
        return FieldError("kind", f"must be one of {', '.join(KINDS)}", "invalid_kind")
    return None


def clean_options(kind: str, options: Sequence[Any] | None) -> tuple[list[str], FieldError | None]:
    """The choices of a select or multiselect: non-empty, distinct (any case) strings; none for other kinds."""
    values = list(options or [])
    if kind not in CHOICE_KINDS:
        if values:
            return [], FieldError("options", f"only {' and '.join(CHOICE_KINDS)} fields have options", "not_allowed")
        return [], None
    if not values:
        return [], FieldError("options", f"a {kind} field needs at least one option", "required")
    if len(values) > MAX_OPTIONS:
        return [], FieldError("options", f"at most {MAX_OPTIONS} options", "too_long")
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values:
        if not isinstance(value, str) or not value.strip():
            return [], FieldError("options", "every option is a non-empty string", "invalid_option")
        option = " ".join(value.split())
        if len(option) > MAX_OPTION_LENGTH:
            return [], FieldError("options", f"options are at most {MAX_OPTION_LENGTH} characters", "too_long")
        if option.casefold() in seen:
            return [], FieldError("options", f"{option!r} is listed twice", "duplicate")
        seen.add(option.casefold())
        cleaned.append(option)
    return cleaned, None


# --- use cases ---------------------------------------------------------------------------------------------


def list_all(uow: UnitOfWork, *, workspace_id: str) -> list[CustomField]:
    """The workspace's custom fields in display order."""
    with uow:
        return definitions(uow.session, workspace_id)


def get(uow: UnitOfWork, *, workspace_id: str, field_id: str) -> CustomField:
    """One custom field definition of the workspace."""
    with uow:
        return get_in_workspace(uow.session, CustomField, field_id, workspace_id=workspace_id, what="custom field")


def create(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    label: str,
    kind: str,
    key: str | None = None,
    options: Sequence[Any] | None = None,
    required: bool = False,
) -> CustomField:
    """Define a custom field; its key (unique in the workspace) names the value in every contact."""
    clean, label_error = clean_label(label)
    kind_error = clean_kind(kind)
    field_key, key_error = clean_key(key, clean)
    choices, options_error = clean_options(kind, options) if kind_error is None else ([], None)
    errors = [e for e in (label_error, kind_error, key_error, options_error) if e is not None]
    if errors:
        raise InvalidInput("the custom field has invalid fields", errors=errors)
    with uow:
        taken = uow.session.scalars(
            select(CustomField.id).where(CustomField.workspace_id == workspace_id, CustomField.key == field_key)
        ).first()
        if taken is not None:
            raise _key_taken(field_key)
        last = uow.session.scalar(
            select(func.max(CustomField.position)).where(CustomField.workspace_id == workspace_id)
        )
        field = CustomField(
            id=new_id(),
            workspace_id=workspace_id,
            key=field_key,
            label=clean,
            kind=kind,
            options=choices,
            required=required,
            position=(last if last is not None else -1) + 1,
        )
        uow.session.add(field)
        try:
            uow.commit()
        except IntegrityError as exc:  # the same key was defined meanwhile
            raise _key_taken(field_key) from exc
        return field


def update(uow: UnitOfWork, *, workspace_id: str, field_id: str, changes: dict[str, Any]) -> CustomField:
    """Change a field's label, options or whether it is required; its kind and key never change."""
    with uow:
        field = get_in_workspace(uow.session, CustomField, field_id, workspace_id=workspace_id, what="custom field")
        if "kind" in changes and changes["kind"] != field.kind:
            raise Conflict(
                f"the kind of a custom field cannot change (it is {field.kind}); define a new field instead",
                errors=[FieldError("kind", f"stays {field.kind}", "immutable")],
            )
        errors: list[FieldError] = []
        for name in ("label", "required", "options"):
            if name in changes and changes[name] is None and name != "options":
                errors.append(FieldError(name, "must not be null", "required"))
        label, label_error = clean_label(changes["label"]) if changes.get("label") is not None else (field.label, None)
        options, options_error = (
            clean_options(field.kind, changes["options"]) if "options" in changes else (field.options, None)
        )
        errors += [e for e in (label_error, options_error) if e is not None]
        if errors:
            raise InvalidInput("the custom field has invalid fields", errors=errors)
        field.label, field.options = label, list(options)
        if changes.get("required") is not None:
            field.required = bool(changes["required"])
        uow.commit()
        return field


def delete(uow: UnitOfWork, *, workspace_id: str, field_id: str) -> None:
    """Remove a custom field definition; values stored under its key stay in the contacts' data."""
    with uow:
        field = get_in_workspace(uow.session, CustomField, field_id, workspace_id=workspace_id, what="custom field")
        uow.session.delete(field)
        uow.commit()


def _key_taken(key: str) -> Conflict:
    return Conflict(
        f"a custom field with key {key!r} already exists",
        errors=[FieldError("key", "already used by another custom field of the workspace", "taken")],
    )
