"""How a ticket is shown: their JSON (the API) and their protobuf message (gRPC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.tickets.v1 import tickets_pb2
from crm_tickets.sla.represent import ticket_sla
from crm_tickets.tickets.models import Ticket


def ticket(row: Ticket) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "contact_id": row.contact_id,
        "subject": row.subject,
        "status": row.status,
        "priority": row.priority,
        "responsible_id": row.responsible_id,
        "opened_by": row.opened_by,
        "channel": row.channel,
        "version": row.version,
        "created_at": row.created_at.isoformat(),
        "updated_at": (row.updated_at or row.created_at).isoformat(),
        "first_response_at": _iso(row.first_response_at),
        "solved_at": _iso(row.solved_at),
        "closed_at": _iso(row.closed_at),
        "sla": ticket_sla(row),  # the SLA feature's part: its deadlines, loaded with the ticket
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_message(row: Ticket) -> tickets_pb2.Ticket:
    return tickets_pb2.Ticket(id=row.id, contact_id=row.contact_id, subject=row.subject, status=row.status)
