"""How a conversation is shown: its JSON (the API) and its protobuf message (gRPC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.conversations.v1 import conversations_pb2
from crm_conversations.conversations.models import Assignment, Conversation


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def conversation(row: Conversation | Any, unread_count: int = 0) -> dict[str, Any]:
    """A conversation, or a list's row of its columns (``lists.LISTED_COLUMNS``)."""
    return {
        "id": row.id,
        "contact_id": row.contact_id,
        "contact": {"name": row.contact_name, "email": row.contact_email, "phone": row.contact_phone},
        "subject": row.subject,
        "channel": row.channel,
        "status": row.status,
        "assignee_id": row.assignee_id,
        "message_count": row.message_count,
        "unread": unread_count > 0,
        "unread_count": unread_count,
        "version": row.version,
        "created_at": row.created_at.isoformat(),
        "updated_at": _at(row.updated_at),
        "last_message_at": _at(row.last_message_at),
        "first_response_at": _at(row.first_response_at),
        "archived_at": _at(row.archived_at),
    }


def summary(row: Conversation | Any) -> dict[str, Any]:
    """A conversation as another one's side panel lists it."""
    return {
        "id": row.id,
        "subject": row.subject,
        "channel": row.channel,
        "status": row.status,
        "assignee_id": row.assignee_id,
        "message_count": row.message_count,
        "last_message_at": _at(row.last_message_at),
        "created_at": row.created_at.isoformat(),
    }


def assignment(row: Assignment) -> dict[str, Any]:
    return {
        "from_assignee_id": row.from_assignee_id,
        "to_assignee_id": row.to_assignee_id,
        "actor_id": row.actor_id,
        "assigned_at": row.assigned_at.isoformat(),
    }


def conversation_message(row: Conversation | Any) -> conversations_pb2.Conversation:
    return conversations_pb2.Conversation(
        id=row.id,
        contact_id=row.contact_id,
        subject=row.subject,
        message_count=row.message_count,
        status=row.status,
        channel=row.channel,
        assignee_id=row.assignee_id or "",
        last_message_at=_at(row.last_message_at) or "",
    )
