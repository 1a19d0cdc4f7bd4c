"""Per-member read markers: how many of a conversation's messages a member has read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_conversations.models import Base
from crm_platform.db import UtcDateTime, utcnow


class ReadMarker(Base):
    __tablename__ = "conversation_reads"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # The conversation's message_count when the member last read it: unread = message_count - read_count.
    read_count: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    # A member's own markers, for the views' unread counts (conversations.counts).
    __table_args__ = (
        Index(
            "ix_conversation_reads_workspace_id_member_id_conversation_id",
            "workspace_id",
            "member_id",
            "conversation_id",
        ),
    )
