"""The tickets service's own events that change a ticket's deadlines: each computes them again.

Handlers rather than calls from each use case: opening, moving, re-prioritising and replying stay free of
SLA code, and every way a ticket changes (a member, a customer's mail, automation) is covered by the event
it already emits. The deadlines trail the change by the time the worker takes to consume it (the outbox
relay's delay); the breach loop reads only what the handlers stored. Idempotent by construction: each
computes from the ticket as it is now, so a redelivery or an out-of-order event changes nothing."""

from __future__ import annotations

from typing import Any

from crm_events.tickets import (
    COMMENT_PUBLIC_ADDED,
    TICKET_CUSTOMER_REPLIED,
    TICKET_OPENED,
    TICKET_PRIORITY_CHANGED,
    TICKET_STATUS_CHANGED,
)
from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.events import Event
from crm_tickets.sla import service

EVENTS = (TICKET_OPENED, TICKET_STATUS_CHANGED, TICKET_PRIORITY_CHANGED, COMMENT_PUBLIC_ADDED, TICKET_CUSTOMER_REPLIED)


def deadlines_changed(_rt: Any, uow: UnitOfWork, event: Event[Any]) -> None:
    service.recompute_ticket(uow, workspace_id=event.workspace_id, ticket_id=event.payload.ticket_id)


def subscribe(subscriptions: Subscriptions) -> None:
    for event_type in EVENTS:
        subscriptions.on(event_type)(deadlines_changed)  # type: ignore[misc]  # one handler for several payload types
