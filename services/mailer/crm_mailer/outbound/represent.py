"""How an outbound mail is shown: its JSON (the API) and its protobuf message (gRPC)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm.mailer.v1 import mailer_pb2
from crm_mailer.outbound.models import OutboundAttempt, OutboundMessage


def message(row: OutboundMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "source_event_id": row.source_event_id,
        "ticket_id": row.ticket_id,
        "contact_id": row.contact_id,
        "recipient": row.recipient,
        "subject": row.subject,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "rfc822_message_id": row.rfc822_message_id,
        "in_reply_to": row.in_reply_to,
        "automatic": bool(row.automatic),
        "created_at": row.created_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
    }


def message_with_history(row: OutboundMessage, attempts: Sequence[OutboundAttempt]) -> dict[str, Any]:
    """One mail with each attempt to deliver it, oldest first (``history``)."""
    return message(row) | {
        "history": [
            {"attempted_at": a.attempted_at.isoformat(), "outcome": a.outcome, "detail": a.detail} for a in attempts
        ]
    }


def delivery(row: OutboundMessage) -> mailer_pb2.Delivery:
    return mailer_pb2.Delivery(
        id=row.id, recipient=row.recipient or "", status=row.status, rfc822_message_id=row.rfc822_message_id
    )
