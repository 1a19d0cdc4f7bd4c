"""The ticket events the ticket report keeps as facts (one per event, the ticket its subject), and the few
payload fields its projection needs."""

from __future__ import annotations

from crm.events.v1 import tickets_pb2
from crm_events import tickets
from crm_platform.consumer import Subscriptions
from crm_platform.events import Event
from crm_reports import projection
from crm_reports.facts import FactRow
from crm_reports.tickets.rules import PROJECTION


def _fact(event: Event, ticket_id: str, member_id: str, **attrs: object) -> list[FactRow]:  # type: ignore[type-arg]
    if not ticket_id:
        return []
    return [
        FactRow(event.event_id, event.workspace_id, event.type.name, ticket_id, event.occurred_at, member_id, attrs)
    ]


def opened(event: Event[tickets_pb2.TicketOpened]) -> list[FactRow]:
    p = event.payload
    return _fact(
        event, p.ticket_id, p.responsible_id, status=p.status, priority=p.priority, responsible=p.responsible_id
    )


def status_changed(event: Event[tickets_pb2.TicketStatusChanged]) -> list[FactRow]:
    p = event.payload
    return _fact(
        event,
        p.ticket_id,
        p.responsible_id,
        **{"from": p.from_status, "to": p.to_status},
        reason=p.reason if p.reason == "merged" else "",  # a member's own words are not the report's business
        responsible=p.responsible_id,
        priority=p.priority,
        sla=list(p.sla_outcomes),
    )


def assigned(event: Event[tickets_pb2.TicketAssigned]) -> list[FactRow]:
    p = event.payload
    return _fact(event, p.ticket_id, p.to_responsible_id, responsible=p.to_responsible_id)


def priority_changed(event: Event[tickets_pb2.TicketPriorityChanged]) -> list[FactRow]:
    p = event.payload
    return _fact(event, p.ticket_id, "", priority=p.to_priority)


def public_comment(event: Event[tickets_pb2.CommentAdded]) -> list[FactRow]:
    """Only a person's reply can be a first response: customers' and automation's comments are left out (an
    event from before ``author_type`` existed was a member's: customers' mail came as customer_replied)."""
    p = event.payload
    if p.automatic or p.author_type not in ("", "member"):
        return []
    return _fact(event, p.ticket_id, p.author_id, author=p.author_id, responsible=p.responsible_id)


def sla_breached(event: Event[tickets_pb2.SlaBreached]) -> list[FactRow]:
    p = event.payload
    return _fact(event, p.ticket_id, "", target=p.target, priority=p.priority)


def subscribe(subscriptions: Subscriptions) -> None:
    projection.subscribe(subscriptions, tickets.TICKET_OPENED, PROJECTION, opened)
    projection.subscribe(subscriptions, tickets.TICKET_STATUS_CHANGED, PROJECTION, status_changed)
    projection.subscribe(subscriptions, tickets.TICKET_ASSIGNED, PROJECTION, assigned)
    projection.subscribe(subscriptions, tickets.TICKET_PRIORITY_CHANGED, PROJECTION, priority_changed)
    projection.subscribe(subscriptions, tickets.COMMENT_PUBLIC_ADDED, PROJECTION, public_comment)
    projection.subscribe(subscriptions, tickets.SLA_BREACHED, PROJECTION, sla_breached)
