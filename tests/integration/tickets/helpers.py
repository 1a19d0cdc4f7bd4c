"""What the automation and SLA tests do to tickets besides the API: feed the service its own events (as
its worker would) and move statuses at a time of the test's choosing."""

from __future__ import annotations

from datetime import datetime

from crm_tickets.tickets.models import Ticket
from crm_tickets.tickets.service import move_status
from tests.support.stack import RunningService


def consume_own_events(api: RunningService) -> int:
    """Hand every ticket event of the outbox to the service's consumer (the processed ones are skipped, as
    the consumer records them); returns how many there were."""
    events = [e for e in api.outbox() if e.type.startswith("tickets.") and e.type in api.rt.spec.subscriptions.handlers]
    for envelope in events:
        api.consume(envelope.SerializeToString())
    return len(events)


def move(api: RunningService, ticket_id: str, status: str, *, at: datetime, reopen: bool = False) -> None:
    """Move a ticket's status through the one use case every status change goes through, at ``at``."""
    with api.rt.database.unit_of_work() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        move_status(uow, ticket, status, actor_id="agent-1", reopen=reopen, now=at)
        uow.commit()


def set_times(api: RunningService, ticket_id: str, **times: datetime | None) -> None:
    """Set a ticket's reply timestamps as the comments feature does (first_response_at, last_*_reply_at)."""
    with api.rt.database.unit_of_work() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        for name, value in times.items():
            setattr(ticket, name, value)
        uow.commit()


def ticket_row(api: RunningService, ticket_id: str) -> Ticket:
    with api.rt.database.unit_of_work() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket
