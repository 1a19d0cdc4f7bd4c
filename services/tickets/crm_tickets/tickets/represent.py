"""How a ticket and a comment are shown: their JSON (the API) and their protobuf message (gRPC)."""

from __future__ import annotations

from typing import Any

from crm.tickets.v1 import tickets_pb2
from crm_tickets.tickets.models import Comment, Ticket


def ticket(row: Ticket) -> dict[str, Any]:
    return {
        "id": row.id,
        "contact_id": row.contact_id,
        "subject": row.subject,
        "status": row.status,
        "opened_by": row.opened_by,
        "created_at": row.created_at.isoformat(),
    }


def comment(row: Comment) -> dict[str, Any]:
    return {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "body": row.body,
        "public": row.public,
        "author_id": row.author_id,
        "created_at": row.created_at.isoformat(),
    }


def ticket_message(row: Ticket) -> tickets_pb2.Ticket:
    return tickets_pb2.Ticket(id=row.id, contact_id=row.contact_id, subject=row.subject, status=row.status)
