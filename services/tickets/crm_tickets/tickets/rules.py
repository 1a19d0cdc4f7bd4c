"""What a ticket must hold and how its status may move: plain functions, no I/O.

Statuses (the seeds' "La herramienta de Tickets", Zammad's states): ``new`` (nobody has answered yet),
``open``, ``pending`` (waiting for the contact), ``stopped`` (on hold), ``solved`` and ``closed``. A ticket
starts ``new``; it never goes back to ``new``. ``closed`` is final except by an explicit reopen (to
``open``); every other status may move to any other. Moving to the status a ticket already has changes
nothing (a retried request is not an error).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from crm_platform.errors import Conflict, FieldError, InvalidInput, phrase

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


# Changing a ticket ------------------------------------------------------------------------------------------
MERGED_REASON = "merged"  # the reason of the status change that closes a ticket merged into another
MAX_REASON_LENGTH = 500


def check_change(changes: Mapping[str, object]) -> None:
    """A PATCH's fields that only make sense together: ``reason`` and ``reopen`` go with ``status``."""
    if "status" in changes:
        return
    for alone in ("reason", "reopen"):
        if alone in changes:
            raise InvalidInput(
                "the ticket has invalid fields",
                errors=[FieldError(alone, "only with status", "requires_status")],
            )


def check_merge(
    *,
    source_id: str,
    source_merged_into: str | None,
    target_id: str,
    target_status: str,
    target_merged_into: str | None,
) -> None:
    """Whether a ticket may be merged into another (Zammad's rule: any two tickets of the workspace, whatever
    their contacts): not into itself, not twice, not into a merged or closed ticket (a closed one is final;
    reopen it first)."""
    if source_id == target_id:
        raise InvalidInput(
            "the merge has invalid fields",
            errors=[FieldError("into_ticket_id", "a ticket cannot be merged into itself", "same_ticket")],
        )
    if source_merged_into is not None:
        raise Conflict("the ticket was already merged into another")
    if target_merged_into is not None:
        raise Conflict("the target ticket was merged into another; merge into that one")
    if target_status == CLOSED:
        raise Conflict(f"the target ticket is {CLOSED}: reopen it to merge into it")


# Lists: sorts and the views bar ------------------------------------------------------------------------------
PRIORITY_RANK = {LOW: 0, NORMAL: 1, HIGH: 2, URGENT: 3}
SORTS = ("created", "updated", "number", "priority")
DEFAULT_SORT = "-created"


@dataclass(frozen=True)
class Sort:
    """A list's order: ``key`` (one of SORTS) and its direction; ties are broken by creation, then id."""

    key: str
    descending: bool

    @property
    def scope(self) -> str:
        """The cursor scope of this order: a cursor of another order is refused."""
        return f"sort={'-' if self.descending else ''}{self.key}"


def parse_sort(raw: str | None) -> Sort:
    """``created`` (oldest first) or ``-created`` (newest first, the default), likewise updated, number, priority
    (``-priority``: urgent first)."""
    text = (raw or DEFAULT_SORT).strip()
    key = text.removeprefix("-")
    if key not in SORTS:
        raise InvalidInput(
            "the list has invalid parameters",
            errors=[
                FieldError(
                    "sort",
                    phrase("must be one of {sorts}, with - for descending", sorts=", ".join(SORTS)),
                    "invalid_choice",
                )
            ],
        )
    return Sort(key, text.startswith("-"))


VIEWS = ("mine", "unassigned", "open", "pending")


def views_bar(rows: Iterable[tuple[str, str | None, int]], *, me: str) -> dict[str, object]:
    """The views bar from (status, responsible or None, tickets) rows: tickets per status, and the views:
    ``mine`` and ``unassigned`` (active tickets, i.e. new, open, pending or stopped, with that responsible),
    ``open`` (new or open: waiting for us) and ``pending`` (waiting for the contact)."""
    statuses = dict.fromkeys(STATUSES, 0)
    views = dict.fromkeys(VIEWS, 0)
    for status, responsible, tickets in rows:
        if status not in statuses:
            continue  # a status a later release added: counted by the release that knows it
        statuses[status] += tickets
        if status in ACTIVE_STATUSES:
            if responsible is None:
                views["unassigned"] += tickets
            elif responsible == me:
                views["mine"] += tickets
        if status in (NEW, OPEN):
            views["open"] += tickets
        if status == PENDING:
            views["pending"] += tickets
    return {"statuses": statuses, **views}
