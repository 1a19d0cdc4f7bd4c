"""How a comment is shown: its JSON (the API)."""

from __future__ import annotations

from typing import Any

from crm_tickets.comments.models import Comment


def comment(row: Comment) -> dict[str, Any]:
    return {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "body": row.body,
        "public": row.public,
        "author_id": row.author_id,
        "created_at": row.created_at.isoformat(),
    }
