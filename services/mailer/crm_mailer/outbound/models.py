"""Outbound mail: one row per email the platform has to deliver, and one row per attempt to deliver it."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_mailer.models import Base
from crm_platform.db import UtcDateTime, utcnow

QUEUED, SENT, FAILED, SKIPPED, SUPPRESSED = "queued", "sent", "failed", "skipped", "suppressed"
# An outbound mail's statuses, named everywhere through these. ``suppressed``: never sent because the contact is
# blocked or the address inactive (``last_error`` says which); ``skipped``: nowhere to send it.
STATUSES = (QUEUED, SENT, FAILED, SKIPPED, SUPPRESSED)
# What one attempt came to: accepted, tried again later (4xx, unreachable), refused for good (5xx) or given up.
ATTEMPT_SENT, ATTEMPT_DEFERRED, ATTEMPT_BOUNCED, ATTEMPT_FAILED = "sent", "deferred", "bounced", "failed"
# What a mail is, as mailer.message.sent tells it: a ticket's public comment (tickets.comment.public_added), a
# conversation's message (SendEmail naming a conversation thread), or any other SendEmail.
TICKET_COMMENT, CONVERSATION_MESSAGE, DIRECT = "ticket_comment", "conversation_message", "direct"
KINDS = (TICKET_COMMENT, CONVERSATION_MESSAGE, DIRECT)


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    source_event_id: Mapped[str] = mapped_column(String(36), unique=True)  # one mail per triggering event
    ticket_id: Mapped[str | None] = mapped_column(String(36))  # the thread's id: a ticket's or a conversation's
    thread_kind: Mapped[str] = mapped_column(String(20), default="ticket", server_default="ticket")  # which
    kind: Mapped[str] = mapped_column(String(30), default=DIRECT, server_default=DIRECT)  # one of KINDS
    contact_id: Mapped[str | None] = mapped_column(String(36))
    recipient: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    rfc822_message_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Who wrote it (a member's display name goes in From), the HTML the requester sent (sanitized when built),
    # the thread it follows up (In-Reply-To, References) and whether it is automatic (Auto-Submitted,
    # List-Unsubscribe) rather than a direct reply to a person.
    author_id: Mapped[str | None] = mapped_column(String(36))
    author_name: Mapped[str | None] = mapped_column(String(200))
    html_body: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    references: Mapped[str | None] = mapped_column(Text)  # Message-IDs, space-separated
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    # Files it carries by reference (crm.platform.v1.AttachmentRef as dicts): fetched from their owners when
    # the mail is built (outbound/attachments.py), never stored here.
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The ticket's number per workspace, as the subject's [#1234] says it: a reply's subject finds it.
    ticket_number: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (
        Index("ix_outbound_messages_workspace_id_id", "workspace_id", "id"),
        Index("ix_outbound_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbound_messages_workspace_id_ticket_id", "workspace_id", "ticket_id"),
        Index("ix_outbound_messages_workspace_id_ticket_number", "workspace_id", "ticket_number"),
    )


class OutboundAttempt(Base):
    """One try at delivering a message: when, what came of it and the server's words."""

    __tablename__ = "outbound_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), ForeignKey("outbound_messages.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbound_attempts_message_id_attempted_at", "message_id", "attempted_at"),)


class Unsubscribe(Base):
    """A recipient's one-click unsubscribe from one message's link: recorded once, however often it is posted."""

    __tablename__ = "outbound_unsubscribes"

    message_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("outbound_messages.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[str] = mapped_column(String(36))
    recipient: Mapped[str] = mapped_column(String(320))
    unsubscribed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
