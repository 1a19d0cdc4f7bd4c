"""The realtime log: a bounded, durable record of recent events, written in the transaction of the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_conversations.models import Base
from crm_platform.db import UtcDateTime, utcnow


class RealtimeEvent(Base):
    """One event as clients receive it. ``id`` is the clients' cursor: increasing, assigned at insert; a reader
    tells a row still uncommitted from one rolled back by waiting (see ``realtime.feed``)."""

    __tablename__ = "realtime_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(100))
    conversation_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(36), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # what agents get
    visitor_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # None: visitors get nothing
    ends_visitor_stream: Mapped[bool] = mapped_column(Boolean, default=False)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_realtime_events_occurred_at", "occurred_at"),
        Index("ix_realtime_events_workspace_id_conversation_id", "workspace_id", "conversation_id"),
    )
