"""The events the conversations service publishes."""

from __future__ import annotations

from crm.events.v1 import conversations_pb2
from crm_events.types import EventType

CONVERSATION_STARTED = EventType("conversations.conversation.started", conversations_pb2.ConversationStarted)
MESSAGE_ADDED = EventType("conversations.message.added", conversations_pb2.ConversationMessageAdded)
