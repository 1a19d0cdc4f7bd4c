"""What tickets does when contacts' events arrive: a merge re-points the merged contacts' tickets to the
survivor, a deletion keeps the tickets and their snapshot of who they were for, marked as deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from crm.events.v1 import contacts_pb2
from crm_events import contacts
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.consumer import EventHandler, Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.errors import NotFound
from crm_platform.events import Event
from crm_tickets.tickets.models import Ticket


def repoint_merged(rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.ContactsMerged]) -> None:
    """The merged contacts' tickets now belong to the survivor, with its name and email as their snapshot
    (asked of contacts; a survivor deleted since keeps the tickets' own snapshot)."""
    merged = event.payload
    if not merged.merged_ids:
        return
    snapshot: dict[str, Any] = {}
    try:
        card = GrpcContactDirectory(rt.grpc).get(merged.survivor_id)
        snapshot = {"contact_name": card.name[:300] or None, "contact_email": (card.email or "")[:320] or None}
    except NotFound:
        pass
    uow.session.execute(
        update(Ticket)
        .where(Ticket.workspace_id == event.workspace_id, Ticket.contact_id.in_(list(merged.merged_ids)))
        .values(contact_id=merged.survivor_id, version=Ticket.version + 1, **snapshot)
    )


def keep_deleted(_rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.ContactDeleted]) -> None:
    """A deleted contact's tickets stay, with the snapshot taken when they were opened, marked as deleted."""
    uow.session.execute(
        update(Ticket)
        .where(
            Ticket.workspace_id == event.workspace_id,
            Ticket.contact_id == event.payload.contact_id,
            Ticket.contact_deleted_at.is_(None),
        )
        .values(contact_deleted_at=event.occurred_at)
    )


def _after(first: EventHandler[Any] | None, then: EventHandler[Any]) -> EventHandler[Any]:
    def both(rt: Any, uow: UnitOfWork, event: Event[Any]) -> None:
        if first is not None:
            first(rt, uow, event)
        then(rt, uow, event)

    return both


def subscribe(subscriptions: Subscriptions) -> None:
    """Register the handlers, each after the one already registered for its event (the visibility copy's):
    a service has one handler per event type, so they run in turn, in the same transaction."""
    for event_type, handler in ((contacts.CONTACT_MERGED, repoint_merged), (contacts.CONTACT_DELETED, keep_deleted)):
        before = subscriptions.handlers.get(event_type.name)
        subscriptions.on(event_type)(_after(before.handler if before else None, handler))
