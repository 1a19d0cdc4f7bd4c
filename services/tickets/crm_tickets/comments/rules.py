"""What a comment must hold: plain functions, no I/O."""

from __future__ import annotations

from crm_platform.errors import FieldError, InvalidInput


def check_comment_body(body: str) -> None:
    """A comment says something: a body of only spaces is refused."""
    if not body.strip():
        raise InvalidInput(
            "the comment has invalid fields", errors=[FieldError("body", "must not be empty", "required")]
        )
