"""The views bar's counts (tickets per status and responsible), kept in ``ticket_view_counts``.

A count over a million rows cannot answer in a few milliseconds; a row per (workspace, status, responsible)
can. Every change of a ticket's status or responsible, and every new ticket, adds its deltas to those rows in
the same transaction: a flush hook sees them in the session, whichever code made them (``move_status``, the
PATCH, a merge, automation), so no write path can forget. Writes that bypass the ORM (``UnitOfWork.insert``,
Core UPDATEs of status or responsible) must call ``add`` themselves. Counters of one workspace's hot rows
serialize its concurrent writers as the ticket number's counter already does.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.orm import Session

from crm_platform import upserts
from crm_platform.db import Database
from crm_tickets.tickets.models import Ticket, TicketViewCount
from crm_tickets.tickets.rules import NEW

UNASSIGNED = ""  # the responsible of an unassigned ticket in the counter's key

Key = tuple[str, str, str]  # workspace, status, responsible ("" unassigned)


def add(session: Session, deltas: Counter[Key]) -> None:
    """Add ``deltas`` to the counters, one upsert per key that changes."""
    rows = [
        {"workspace_id": ws, "status": status, "responsible_id": who, "tickets": delta}
        for (ws, status, who), delta in deltas.items()
        if delta
    ]
    upserts.add_to_counts(
        session, TicketViewCount.__table__, ("workspace_id", "status", "responsible_id"), rows, ("tickets",)
    )


@functools.cache
def _counters() -> Any:
    """The views bar's read of a workspace's counters, built once (``Database.read``)."""
    return select(TicketViewCount.status, TicketViewCount.responsible_id, TicketViewCount.tickets).where(
        TicketViewCount.workspace_id == bindparam("workspace_id"), TicketViewCount.tickets != 0
    )


def read(database: Database, workspace_id: str) -> list[tuple[str, str | None, int]]:
    """The workspace's (status, responsible or None, tickets) rows; one read outside a transaction."""
    found = database.read(_counters(), {"workspace_id": workspace_id})
    return [(status, who or None, int(n)) for status, who, n in found]


def _before(ticket: Ticket, attribute: str) -> Any:
    history = inspect(ticket).attrs[attribute].history
    if history.deleted:
        return history.deleted[0]
    return getattr(ticket, attribute)


def deltas_of(new: Iterable[Any], dirty: Iterable[Any], deleted: Iterable[Any]) -> Counter[Key]:
    """What a flush of these objects changes in the counters (only tickets count)."""
    deltas: Counter[Key] = Counter()
    for ticket in new:
        if isinstance(ticket, Ticket):
            deltas[(ticket.workspace_id, ticket.status or NEW, ticket.responsible_id or UNASSIGNED)] += 1
    for ticket in dirty:
        if not isinstance(ticket, Ticket):
            continue
        state = inspect(ticket).attrs
        if not (state.status.history.has_changes() or state.responsible_id.history.has_changes()):
            continue
        before = (ticket.workspace_id, _before(ticket, "status"), _before(ticket, "responsible_id") or UNASSIGNED)
        after = (ticket.workspace_id, ticket.status, ticket.responsible_id or UNASSIGNED)
        if before != after:
            deltas[before] -= 1
            deltas[after] += 1
    for ticket in deleted:
        if isinstance(ticket, Ticket):
            deltas[
                (ticket.workspace_id, _before(ticket, "status"), _before(ticket, "responsible_id") or UNASSIGNED)
            ] -= 1
    return deltas


@event.listens_for(Session, "before_flush")
def _count_changes(session: Session, _context: Any, _instances: Any) -> None:
    if not any(isinstance(o, Ticket) for o in (*session.new, *session.dirty, *session.deleted)):
        return
    add(session, deltas_of(session.new, session.dirty, session.deleted))
