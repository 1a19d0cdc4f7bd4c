"""The events the tickets service publishes."""

from __future__ import annotations

from crm.events.v1 import tickets_pb2
from crm_events.types import EventType

TICKET_OPENED = EventType("tickets.ticket.opened", tickets_pb2.TicketOpened)
# Meant for the contact: the mailer mails it to them.
COMMENT_PUBLIC_ADDED = EventType("tickets.comment.public_added", tickets_pb2.CommentAdded)
# An internal note: never leaves the workspace.
COMMENT_PRIVATE_ADDED = EventType("tickets.comment.private_added", tickets_pb2.CommentAdded)
