"""How a comment is shown: its JSON (the API). ``visibility`` says public or private wherever it is listed."""

from __future__ import annotations

from typing import Any

from crm_tickets.comments.models import Comment


def comment(row: Comment) -> dict[str, Any]:
    return {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "body": row.body,
        "body_html": row.body_html,
        "public": row.public,
        "visibility": "public" if row.public else "private",
        "author_kind": row.author_kind,
        "author_id": row.author_id,
        "with_signature": row.with_signature,
        "delivery": (
            {"status": row.delivery_status, "detail": row.delivery_detail, "message_id": row.rfc822_message_id}
            if row.delivery_status
            else None
        ),
        "from": (
            {
                "address": row.sender,
                "name": row.sender_name,
                "inbound_id": row.inbound_id,
                "raw_url": row.raw_url,
                "notice": row.notice,
            }
            if row.author_kind == "customer"
            else None
        ),
        "created_at": row.created_at.isoformat(),
    }
