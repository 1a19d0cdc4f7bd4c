"""The events the tickets service publishes."""

from __future__ import annotations

from crm.events.v1 import tickets_pb2
from crm_events.types import EventType

TICKET_OPENED = EventType("tickets.ticket.opened", tickets_pb2.TicketOpened)
# Meant for the contact: the mailer mails it to them.
COMMENT_PUBLIC_ADDED = EventType("tickets.comment.public_added", tickets_pb2.CommentAdded)
# An internal note: never leaves the workspace.
COMMENT_PRIVATE_ADDED = EventType("tickets.comment.private_added", tickets_pb2.CommentAdded)
TICKET_STATUS_CHANGED = EventType("tickets.ticket.status_changed", tickets_pb2.TicketStatusChanged)
TICKET_ASSIGNED = EventType("tickets.ticket.assigned", tickets_pb2.TicketAssigned)
TICKET_PRIORITY_CHANGED = EventType("tickets.ticket.priority_changed", tickets_pb2.TicketPriorityChanged)
# The contact's mail landed on the ticket (the mailer routed it here).
TICKET_CUSTOMER_REPLIED = EventType("tickets.ticket.customer_replied", tickets_pb2.CustomerReplied)
TICKET_MERGED = EventType("tickets.ticket.merged", tickets_pb2.TicketMerged)
SLA_BREACHED = EventType("tickets.sla.breached", tickets_pb2.SlaBreached)
MEMBER_MENTIONED = EventType("tickets.member.mentioned", tickets_pb2.TicketMemberMentioned)
