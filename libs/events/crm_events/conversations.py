"""The events the conversations service publishes."""

from __future__ import annotations

from crm.events.v1 import conversations_pb2
from crm_events.types import EventType

CONVERSATION_STARTED = EventType("conversations.conversation.started", conversations_pb2.ConversationStarted)
# Every message, note and inbound mail; ``direction`` says which (a note must never be mailed).
MESSAGE_ADDED = EventType("conversations.message.added", conversations_pb2.ConversationMessageAdded)
CONVERSATION_ASSIGNED = EventType("conversations.conversation.assigned", conversations_pb2.ConversationAssigned)
CONVERSATION_ARCHIVED = EventType("conversations.conversation.archived", conversations_pb2.ConversationStatusChanged)
CONVERSATION_REOPENED = EventType("conversations.conversation.reopened", conversations_pb2.ConversationStatusChanged)
CONVERSATION_DELETED = EventType("conversations.conversation.deleted", conversations_pb2.ConversationDeleted)
CONVERSATION_READ = EventType("conversations.conversation.read", conversations_pb2.ConversationRead)
CONVERSATION_UPDATED = EventType("conversations.conversation.updated", conversations_pb2.ConversationUpdated)
MESSAGE_DELIVERY_CHANGED = EventType(
    "conversations.message.delivery_changed", conversations_pb2.ConversationMessageDeliveryChanged
)
