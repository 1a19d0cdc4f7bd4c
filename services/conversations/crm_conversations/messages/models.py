"""The messages of a conversation: the contact's, the members', and private notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_conversations.conversations.rules import EMAIL
from crm_conversations.messages.rules import MEMBER, OUTBOUND
from crm_conversations.models import Base
from crm_platform.db import UtcDateTime, utcnow


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    conversation_id: Mapped[str] = mapped_column(String(36), ForeignKey("conversations.id"))
    body: Mapped[str] = mapped_column(Text)  # HTML, sanitized with nh3 (what a member wrote, signature apart)
    text: Mapped[str | None] = mapped_column(Text, default=None)  # the plain-text rendering of ``body``
    signature: Mapped[str | None] = mapped_column(Text, default=None)  # the member's, appended when sent
    direction: Mapped[str] = mapped_column(String(10), default=OUTBOUND)  # inbound, outbound, note
    author_type: Mapped[str] = mapped_column(String(10), default=MEMBER)  # member, contact, visitor
    author_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20), default=EMAIL)
    # Email messages a member sends: pending (not handed to the mailer yet), queued, sent, suppressed, skipped,
    # bounced, failed; None for notes and what the contact wrote.
    delivery_status: Mapped[str | None] = mapped_column(String(20), default=None)
    delivery_detail: Mapped[str | None] = mapped_column(String(500), default=None)
    rfc822_message_id: Mapped[str | None] = mapped_column(String(998), default=None)
    inbound_id: Mapped[str | None] = mapped_column(String(36), default=None)  # the mailer's, for inbound mail
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_messages_workspace_id_conversation_id_id", "workspace_id", "conversation_id", "id"),
        Index("ix_messages_workspace_id_rfc822_message_id", "workspace_id", "rfc822_message_id"),
        Index("ix_messages_delivery_status_created_at", "delivery_status", "created_at"),
        UniqueConstraint("workspace_id", "inbound_id", name="uq_messages_workspace_id_inbound_id"),
    )
