"""gRPC API of conversations, for the other services."""

from __future__ import annotations

from typing import Any

from crm.conversations.v1 import conversations_pb2, conversations_pb2_grpc
from crm_conversations.conversations import represent, service
from crm_platform import context, paging
from crm_platform.service import Runtime


class ConversationsServicer(conversations_pb2_grpc.ConversationsServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def ListContactConversations(  # noqa: N802
        self, request: conversations_pb2.ListContactConversationsRequest, _context: Any
    ) -> conversations_pb2.ListContactConversationsResponse:
        caller = context.require_caller()
        limit = paging.bounded_limit(request.limit)
        conversations = service.list_page(
            self.rt.database.unit_of_work(),
            caller=caller,
            limit=limit,
            after_id=None,
            contact_id=request.contact_id,
        )[:limit]
        return conversations_pb2.ListContactConversationsResponse(
            conversations=[represent.conversation_message(c) for c in conversations]
        )
