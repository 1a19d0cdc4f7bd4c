"""gRPC API of conversations, for the other services."""

from __future__ import annotations

from typing import Any

from crm.conversations.v1 import conversations_pb2, conversations_pb2_grpc
from crm_conversations.conversations import lists, represent
from crm_platform import context, paging
from crm_platform.service import Runtime


class ConversationsServicer(conversations_pb2_grpc.ConversationsServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def ListContactConversations(  # noqa: N802
        self, request: conversations_pb2.ListContactConversationsRequest, _context: Any
    ) -> conversations_pb2.ListContactConversationsResponse:
        return self.ListRecentConversationsForContact(request, _context)

    def ListRecentConversationsForContact(  # noqa: N802
        self, request: conversations_pb2.ListContactConversationsRequest, _context: Any
    ) -> conversations_pb2.ListContactConversationsResponse:
        caller = context.require_caller()
        conversations = lists.recent_for_contact(
            self.rt.database.unit_of_work(),
            caller=caller,
            contact_id=request.contact_id,
            limit=paging.bounded_limit(request.limit),
        )
        return conversations_pb2.ListContactConversationsResponse(
            conversations=[represent.conversation_message(c) for c in conversations]
        )
