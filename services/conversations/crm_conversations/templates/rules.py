"""Message templates' placeholders: which exist, which a template uses, and how they are filled. No I/O."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

from crm_platform.errors import FieldError, InvalidInput, phrase

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Every placeholder a template may use; anything else is refused when the template is saved.
KNOWN = (
    "contact.name",
    "contact.first_name",
    "contact.last_name",
    "contact.email",
    "member.name",
    "member.first_name",
    "conversation.subject",
)


@dataclass(frozen=True)
class Context:
    """What a template is filled with: the conversation's contact, the member writing, the conversation."""

    contact_name: str = ""
    contact_email: str = ""
    member_name: str = ""
    subject: str = ""

    def values(self) -> dict[str, str]:
        first, _, last = self.contact_name.strip().partition(" ")
        return {
            "contact.name": self.contact_name.strip(),
            "contact.first_name": first,
            "contact.last_name": last.strip(),
            "contact.email": self.contact_email,
            "member.name": self.member_name.strip(),
            "member.first_name": self.member_name.strip().partition(" ")[0],
            "conversation.subject": self.subject,
        }


def clean_title(raw: str) -> str:
    title = " ".join(raw.split())
    if not title:
        raise InvalidInput(
            phrase("the template has invalid fields"), errors=[FieldError("title", "must not be empty", "required")]
        )
    return title


def check_placeholders(body: str, *, field: str = "body") -> list[str]:
    """The placeholders ``body`` uses, in order; one that is not KNOWN (or an unclosed ``{{``) is refused with
    each name in the field's details."""
    used = [match.group(1) for match in PLACEHOLDER.finditer(body)]
    errors = [
        FieldError(
            field,
            phrase("unknown placeholder {name}; known: {known}", name="{{" + name + "}}", known=", ".join(KNOWN)),
            "unknown_placeholder",
        )
        for name in dict.fromkeys(used)
        if name not in KNOWN
    ]
    if "{{" in PLACEHOLDER.sub("", body):
        errors.append(FieldError(field, phrase("a placeholder is not closed"), "unclosed_placeholder"))
    if errors:
        raise InvalidInput(phrase("the template has invalid fields"), errors=errors)
    return used


def fill(body: str, context: Context, *, escape: bool = True) -> str:
    """The template's body with each placeholder replaced by its value (HTML-escaped for an HTML body); an
    unknown one (saved before it was refused) is left empty."""
    values: Mapping[str, str] = context.values()

    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1), "")
        return html.escape(found) if escape else found

    return PLACEHOLDER.sub(value, body)
