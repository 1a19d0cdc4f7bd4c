"""Conversations and their messages."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_conversations.models import Base
from crm_platform.db import UtcDateTime, utcnow


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36))
    subject: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    status: Mapped[str] = mapped_column(String(20), default="open")
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_conversations_workspace_id_id", "workspace_id", "id"),
        Index("ix_conversations_workspace_id_contact_id", "workspace_id", "contact_id"),
    )

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "subject": self.subject,
            "channel": self.channel,
            "status": self.status,
            "message_count": self.message_count,
            "created_at": self.created_at.isoformat(),
        }


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    conversation_id: Mapped[str] = mapped_column(String(36), ForeignKey("conversations.id"))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_messages_workspace_id_conversation_id_id", "workspace_id", "conversation_id", "id"),)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "body": self.body,
            "author_id": self.author_id,
            "created_at": self.created_at.isoformat(),
        }
