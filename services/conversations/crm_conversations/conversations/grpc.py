"""gRPC API of conversations, for the other services."""

from __future__ import annotations

from typing import Any

from crm.conversations.v1 import conversations_pb2, conversations_pb2_grpc
from crm_conversations.conversations import service
from crm_platform import context
from crm_platform.service import Runtime


class ConversationsServicer(conversations_pb2_grpc.ConversationsServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def ListContactConversations(  # noqa: N802
        self, request: conversations_pb2.ListContactConversationsRequest, _context: Any
    ) -> conversations_pb2.ListContactConversationsResponse:
        caller = context.current_caller()
        assert caller is not None
        limit = min(request.limit or 50, 200)
        conversations = service.list_page(
            self.rt.database.unit_of_work(),
            caller=caller,
            limit=limit,
            after_id=None,
            contact_id=request.contact_id,
        )[:limit]
        return conversations_pb2.ListContactConversationsResponse(
            conversations=[
                conversations_pb2.Conversation(
                    id=c.id, contact_id=c.contact_id, subject=c.subject, message_count=c.message_count
                )
                for c in conversations
            ]
        )
