"""What a conversation must hold and how it moves: plain functions, no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from crm_platform.errors import FieldError, InvalidInput, PreconditionFailed, phrase

OPEN, ARCHIVED = "open", "archived"
STATUSES = (OPEN, ARCHIVED)  # a conversation's statuses; every other module names them through these
EMAIL, WEB_CHAT = "email", "web_chat"
CHANNELS = (EMAIL, WEB_CHAT)
CONTACT_ACTOR = "contact"  # the actor of what the contact's own message did (started, reopened)

MINE, UNASSIGNED, MEMBER, ALL = "mine", "unassigned", "member", "all"
VIEWS = (MINE, UNASSIGNED, MEMBER, ALL)


def clean_subject(raw: str) -> str:
    """The subject with its runs of spaces collapsed; one of only spaces is refused."""
    subject = " ".join(raw.split())
    if not subject:
        raise InvalidInput(
            "the conversation has invalid fields", errors=[FieldError("subject", "must not be empty", "required")]
        )
    return subject[:300]


def subject_of_mail(raw: str) -> str:
    """A conversation's subject from the subject of the mail that started it (mail may have none)."""
    subject = " ".join(raw.split())
    return subject[:300] or "(no subject)"


@dataclass(frozen=True)
class Move:
    from_status: str
    to_status: str

    @property
    def changes(self) -> bool:
        return self.from_status != self.to_status


def archive(status: str) -> Move:
    """Archiving an open conversation; an archived one stays as it is."""
    return Move(status, ARCHIVED)


def reopen(status: str) -> Move:
    """Reopening an archived conversation (by a member, or by the contact's new message)."""
    return Move(status, OPEN)


def timestamps_after(move: Move, now: datetime) -> dict[str, datetime | None]:
    """The timestamps a move sets: archiving stamps archived_at (the conversation's close), reopening clears it."""
    if not move.changes:
        return {}
    return {"archived_at": now} if move.to_status == ARCHIVED else {"archived_at": None}


def check_version(current: int, if_match: str | None, *, what: str = "conversation") -> None:
    """An If-Match naming another version than ``current`` is refused (412); none, or ``*``, passes."""
    if if_match is None:
        return
    wanted = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if "*" not in wanted and str(current) not in wanted:
        raise PreconditionFailed(
            f"the {what} is at version {current}, not {if_match}; read it again and retry",
            extra={"current_version": current},
        )


def fold(text: str) -> str:
    """A name as search compares it: case folded, accents gone, spaces collapsed (``Ángela  Ruíz`` -> ``angela
    ruiz``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


_PHONE = re.compile(r"^\+?[\d\s().-]{5,}$")


@dataclass(frozen=True)
class Search:
    """What a search box's text looks for: an address, a phone number, or the start of a name."""

    email: str | None = None
    phone_digits: str | None = None
    name_prefix: str | None = None


def parse_search(raw: str | None) -> Search | None:
    """The search a list was asked for, or None: ``@`` makes it an address, mostly digits a phone number,
    anything else a name's prefix (case- and accent-insensitive)."""
    text = (raw or "").strip()
    if not text:
        return None
    if "@" in text:
        return Search(email=text.lower())
    if _PHONE.match(text):
        digits = re.sub(r"\D", "", text)
        return Search(phone_digits=digits)
    return Search(name_prefix=fold(text))


def like_prefix(prefix: str) -> str:
    """``prefix`` as a LIKE pattern matching what starts with it, its own wildcards escaped with ``\\``."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def check_view(view: str, member_id: str | None) -> None:
    """A list's view: ``member`` needs the member; the others take none."""
    if view == MEMBER and not member_id:
        raise InvalidInput(
            phrase("the list has invalid parameters"),
            errors=[FieldError("member_id", phrase("the member view needs member_id"), "required")],
        )


def first_response(first_response_at: datetime | None, *, direction: str, now: datetime) -> datetime | None:
    """When a conversation was first answered: the first message a member sent (notes are no answer)."""
    if first_response_at is not None:
        return first_response_at
    return now if direction == "outbound" else None
