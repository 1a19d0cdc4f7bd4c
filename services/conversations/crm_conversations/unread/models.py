"""Per-member read markers: how many of a conversation's messages a member has read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
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
