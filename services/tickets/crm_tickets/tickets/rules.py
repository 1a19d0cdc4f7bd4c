"""What a ticket must hold and how its status may move: plain functions, no I/O.

Statuses (the seeds' "La herramienta de Tickets", Zammad's states): ``new`` (nobody has answered yet),
``open``, ``pending`` (waiting for the contact), ``stopped`` (on hold), ``solved`` and ``closed``. A ticket
starts ``new``; it never goes back to ``new``. ``closed`` is final except by an explicit reopen (to
``open``); every other status may move to any other. Moving to the status a ticket already has changes
nothing (a retried request is not an error).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from crm_platform.errors import Conflict, FieldError, InvalidInput

NEW, OPEN, PENDING, STOPPED, SOLVED, CLOSED = "new", "open", "pending", "stopped", "solved", "closed"
STATUSES = (NEW, OPEN, PENDING, STOPPED, SOLVED, CLOSED)
ACTIVE_STATUSES = (NEW, OPEN, PENDING, STOPPED)  # still waiting for somebody; solved and closed are done

LOW, NORMAL, HIGH, URGENT = "low", "normal", "high", "urgent"
PRIORITIES = (LOW, NORMAL, HIGH, URGENT)

SYSTEM = "system"  # the actor of what automation does

MAX_TAGS = 20
MAX_TAG_LENGTH = 50


def clean_subject(raw: str) -> str:
    """The subject with its runs of spaces collapsed; one of only spaces is refused."""
    subject = " ".join(raw.split())
    if not subject:
        raise InvalidInput(
            "the ticket has invalid fields", errors=[FieldError("subject", "must not be empty", "required")]
        )
    return subject


def check_priority(priority: str, field: str = "priority") -> str:
    if priority not in PRIORITIES:
        raise InvalidInput(
            "the ticket has invalid fields",
            errors=[FieldError(field, f"must be one of {', '.join(PRIORITIES)}", "invalid_choice")],
        )
    return priority


def clean_tags(raw: Iterable[str], field: str = "tags") -> list[str]:
    """Tags lower-cased and trimmed, repeats dropped, in the order given; empty or too many refused."""
    tags = list(dict.fromkeys(" ".join(tag.split()).lower() for tag in raw))
    if any(not tag or len(tag) > MAX_TAG_LENGTH for tag in tags):
        raise InvalidInput(
            "the ticket has invalid fields",
            errors=[FieldError(field, f"each tag has 1 to {MAX_TAG_LENGTH} characters", "invalid_tag")],
        )
    if len(tags) > MAX_TAGS:
        raise InvalidInput(
            "the ticket has invalid fields",
            errors=[FieldError(field, f"at most {MAX_TAGS} tags", "too_many")],
        )
    return tags


@dataclass(frozen=True)
class Move:
    """A status change a rule allowed: from, to, and the timestamps it sets."""

    from_status: str
    to_status: str

    @property
    def changes(self) -> bool:
        return self.from_status != self.to_status


def check_move(current: str, wanted: str, *, reopen: bool = False) -> Move:
    """The move from ``current`` to ``wanted``, or the reason it is refused.

    ``reopen`` is the explicit reopen of a closed ticket (the only way out of ``closed``)."""
    if wanted not in STATUSES:
        raise InvalidInput(
            "the ticket has invalid fields",
            errors=[FieldError("status", f"must be one of {', '.join(STATUSES)}", "invalid_choice")],
        )
    if wanted == current:
        return Move(current, wanted)
    if wanted == NEW:
        raise Conflict(f"a ticket never goes back to {NEW}; it is {current}")
    if current == CLOSED and not (reopen and wanted == OPEN):
        raise Conflict(f"the ticket is {CLOSED}: reopen it (status {OPEN} with reopen) to change it")
    return Move(current, wanted)


def timestamps_after(move: Move, now: datetime) -> dict[str, datetime | None]:
    """The ticket's timestamps a move sets or clears: solved_at when solved, closed_at when closed, both
    cleared when the ticket opens again."""
    if not move.changes:
        return {}
    if move.to_status == SOLVED:
        return {"solved_at": now}
    if move.to_status == CLOSED:
        return {"closed_at": now}
    if move.from_status in (SOLVED, CLOSED):
        return {"solved_at": None, "closed_at": None}
    return {}
