"""Pure rules of notes: who may change a note and what a note body must be."""

from __future__ import annotations

from crm_platform.errors import FieldError

MAX_BODY_CHARS = 20_000


def clean_body(raw: str) -> tuple[str | None, FieldError | None]:
    """The body with surrounding blank space removed; an empty or too long body is an error."""
    body = raw.strip()
    if not body:
        return None, FieldError("body", "must not be empty", "required")
    if len(body) > MAX_BODY_CHARS:
        return None, FieldError("body", f"at most {MAX_BODY_CHARS} characters", "too_long")
    return body, None


def may_change(*, caller_id: str, caller_is_admin: bool, author_id: str) -> bool:
    """A note is edited or deleted by its author or by an admin; pinning is open to whoever sees the contact."""
    return caller_is_admin or caller_id == author_id
