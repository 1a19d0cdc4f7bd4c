"""What a conversation and a message must hold: plain functions, no I/O."""

from __future__ import annotations

from crm_platform.errors import FieldError, InvalidInput


def clean_subject(raw: str) -> str:
    """The subject with its runs of spaces collapsed; one of only spaces is refused."""
    subject = " ".join(raw.split())
    if not subject:
        raise InvalidInput(
            "the conversation has invalid fields", errors=[FieldError("subject", "must not be empty", "required")]
        )
    return subject


def check_message_body(body: str) -> None:
    """A message says something: a body of only spaces is refused."""
    if not body.strip():
        raise InvalidInput(
            "the message has invalid fields", errors=[FieldError("body", "must not be empty", "required")]
        )
