"""Conversations and their messages."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_conversations.models import Base
from crm_platform.db import UtcDateTime, utcnow

OPEN = "open"
STATUSES = (OPEN,)  # a conversation's statuses; every other module names them through these
EMAIL = "email"
CHANNELS = (EMAIL,)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36))
    subject: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(20), default=EMAIL)
    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_conversations_workspace_id_id", "workspace_id", "id"),
        Index("ix_conversations_workspace_id_contact_id", "workspace_id", "contact_id"),
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    conversation_id: Mapped[str] = mapped_column(String(36), ForeignKey("conversations.id"))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_messages_workspace_id_conversation_id_id", "workspace_id", "conversation_id", "id"),)
