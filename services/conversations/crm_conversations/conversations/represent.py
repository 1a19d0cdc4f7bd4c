"""How a conversation and a message are shown: their JSON (the API) and their protobuf message (gRPC)."""

from __future__ import annotations

from typing import Any

from crm.conversations.v1 import conversations_pb2
from crm_conversations.conversations.models import Conversation, Message


def conversation(row: Conversation) -> dict[str, Any]:
    return {
        "id": row.id,
        "contact_id": row.contact_id,
        "subject": row.subject,
        "channel": row.channel,
        "status": row.status,
        "message_count": row.message_count,
        "created_at": row.created_at.isoformat(),
    }


def message(row: Message) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "body": row.body,
        "author_id": row.author_id,
        "created_at": row.created_at.isoformat(),
    }


def conversation_message(row: Conversation) -> conversations_pb2.Conversation:
    return conversations_pb2.Conversation(
        id=row.id, contact_id=row.contact_id, subject=row.subject, message_count=row.message_count
    )
