"""How a ticket is shown: their JSON (the API) and their protobuf message (gRPC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.tickets.v1 import tickets_pb2
from crm_tickets.sla.represent import ticket_sla
from crm_tickets.sla.service import ticket_part
from crm_tickets.tickets.lists import Listed
from crm_tickets.tickets.models import StatusChange, Ticket


def ticket(row: Ticket, tags: list[str] | None = None) -> dict[str, Any]:
    """A ticket read with the ORM (one ticket: its SLA row loaded with it)."""
    return _ticket(row, tags, ticket_sla(row))


def listed(item: Listed) -> dict[str, Any]:
    """A ticket of a list: its Core row (the ticket's columns), its tags, its SLA row."""
    return _ticket(item.ticket, item.tags, ticket_part(item.sla))


def _ticket(row: Any, tags: list[str] | None, sla: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "contact_id": row.contact_id,
        # who the ticket is for as contacts said when it was opened; stays when the contact is deleted
        "contact": {
            "id": row.contact_id,
            "name": row.contact_name,
            "email": row.contact_email,
            "deleted": row.contact_deleted_at is not None,
        },
        "subject": row.subject,
        "status": row.status,
        "priority": row.priority,
        "responsible_id": row.responsible_id,
        "opened_by": row.opened_by,
        "channel": row.channel,
        "tags": tags or [],
        "merged_into_id": row.merged_into_id,
        "followup_of_id": row.followup_of_id,
        "version": row.version,
        "created_at": row.created_at.isoformat(),
        "updated_at": (row.updated_at or row.created_at).isoformat(),
        "first_response_at": _iso(row.first_response_at),
        "solved_at": _iso(row.solved_at),
        "closed_at": _iso(row.closed_at),
        "sla": sla,  # the SLA feature's part: its deadlines, loaded with the ticket
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def status_change(row: StatusChange) -> dict[str, Any]:
    return {
        "from": row.from_status,
        "to": row.to_status,
        "actor": row.actor_id,
        "reason": row.reason,
        "at": row.changed_at.isoformat(),
    }


def ticket_message(row: Any) -> tickets_pb2.Ticket:
    """A ticket (its ORM object or a list's Core row) as the gRPC API shows it."""
    message = tickets_pb2.Ticket(
        id=row.id,
        contact_id=row.contact_id,
        subject=row.subject,
        status=row.status,
        number=row.number or 0,
        priority=row.priority,
        responsible_id=row.responsible_id or "",
    )
    message.updated_at.FromDatetime(row.updated_at or row.created_at)
    message.created_at.FromDatetime(row.created_at)
    return message
