"""Rules of bulk actions and jobs: which actions exist, what values they take, the remembered card colors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from crm_contacts.record import rules as contact_rules
from crm_contacts.record.models import STATUSES
from crm_platform.errors import FieldError, InvalidInput

ACTIONS = (
    "set_owner",
    "set_stage",
    "set_status",
    "add_tags",
    "remove_tags",
    "set_color",
    "set_emoji",
    "set_source",
)
MAX_IDS = 10_000  # bigger selections go through a filter
MAX_JOB_ERRORS = 1_000  # per-row errors kept on a job; the count goes on
BATCH_SIZE = 500  # contacts per unit of work of a bulk action


def check_action(action: str, value: Any) -> Any:
    """The action's value, normalised; what needs the database (members, stages, sources) is checked elsewhere."""
    if action not in ACTIONS:
        raise _invalid("action", f"one of {', '.join(ACTIONS)}", "unknown_action")
    if action in ("set_owner", "set_stage", "set_source"):
        if value is None and action == "set_owner":
            return None  # nobody is responsible any more
        if not isinstance(value, str) or not value.strip():
            raise _invalid("value", "an id", "required")
        return value.strip()
    if action == "set_status":
        if value not in STATUSES:
            raise _invalid("value", f"one of {', '.join(STATUSES)}", "invalid_status")
        return value
    if action in ("add_tags", "remove_tags"):
        return tags_of(value)
    if action == "set_color":
        return color_of(value)
    # set_emoji
    if value is not None and not isinstance(value, str):
        raise _invalid("value", "a single emoji, or null to remove it", "invalid_emoji")
    emoji, error = contact_rules.clean_emoji(value)
    if error:
        raise _invalid("value", error.message, error.code)
    return emoji


def color_of(value: Any) -> str | None:
    """A card color as ``#rrggbb`` (lower-case), or None to remove it."""
    if value is not None and not isinstance(value, str):
        raise _invalid("value", "a color as #rrggbb", "invalid_color")
    color, error = contact_rules.clean_color(value)
    if error:
        raise _invalid("value", error.message, error.code)
    return color


def tags_of(value: Any) -> list[str]:
    """Tags (a list, or one text separated by commas) as contacts keep them: trimmed, lower-cased, once each."""
    raw = re.split(r"[;,]", value) if isinstance(value, str) else value
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise _invalid("value", "a list of tags", "invalid_tags")
    tags, errors = contact_rules.clean_tags([t for t in raw if t.strip()])
    if errors:
        raise InvalidInput(
            "the bulk action is not valid", errors=[FieldError("value", e.message, e.code) for e in errors]
        )
    if not tags:
        raise _invalid("value", "at least one tag", "required")
    return tags


def check_selection(ids: Sequence[str] | None, has_filter: bool) -> None:
    if (ids is None) == (not has_filter):
        raise _invalid("ids", "send either ids or filter", "ids_or_filter")
    if ids is not None and not ids:
        raise _invalid("ids", "at least one contact id", "required")
    if ids is not None and len(ids) > MAX_IDS:
        raise _invalid("ids", f"at most {MAX_IDS} ids; select more with a filter", "too_many")


def keep_error(errors: list[dict[str, Any]], error: dict[str, Any]) -> None:
    """Add a per-row error unless the job already holds as many as it shows."""
    if len(errors) < MAX_JOB_ERRORS:
        errors.append(error)


def _invalid(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput("the bulk action is not valid", errors=[FieldError(field, message, code)])
