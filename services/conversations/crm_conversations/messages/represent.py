"""How a message is shown in the API."""

from __future__ import annotations

from typing import Any

from crm_conversations.messages.models import Message
from crm_platform.attachments.store import StoredAttachment


def file(stored: StoredAttachment) -> dict[str, Any]:
    """A file of a message; its bytes: GET /v1/conversations/{id}/attachments/{attachment_id}."""
    return {"id": stored.id, "filename": stored.filename, "content_type": stored.content_type, "size": stored.size}


def message(row: Message | Any, files: list[StoredAttachment]) -> dict[str, Any]:
    """A message, or a page's row of its columns (``service.LISTED_COLUMNS``), with its files."""
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "body": row.body,  # sanitized HTML
        "text": row.text if row.text is not None else row.body,
        "signature": row.signature,  # shown below the body, as the member's signature
        "direction": row.direction,
        "note": row.direction == "note",
        "author_type": row.author_type,
        "author_id": row.author_id,
        "channel": row.channel,
        "delivery": (
            {"status": row.delivery_status, "detail": row.delivery_detail} if row.delivery_status is not None else None
        ),
        "attachments": [file(stored) for stored in files],
        "created_at": row.created_at.isoformat(),
    }
