"""A ticket's ``sla`` in its JSON: the deadlines its query loaded with it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect

from crm_tickets.sla import service
from crm_tickets.tickets.models import Ticket


def ticket_sla(row: Ticket) -> dict[str, Any] | None:
    """None when no policy applies, or the deadlines are not computed yet (a ticket just opened: the
    handler of its event computes them), or when the row is not a mapped ticket (a Core row of a list read)."""
    state = inspect(row, raiseerr=False)
    if state is None or "sla" in state.unloaded:
        return None
    return service.ticket_part(row.sla)  # type: ignore[attr-defined]  # the backref of TicketSla.ticket
