"""One row per member and realtime replica while the member holds a connection there; its heartbeat is fresh."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_conversations.models import Base
from crm_platform.db import UtcDateTime, utcnow


class MemberPresence(Base):
    __tablename__ = "member_presence"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    replica_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    connections: Mapped[int] = mapped_column(Integer, default=1)  # the member's sockets on that replica
    # Refreshed by the replica every CONVERSATIONS_PRESENCE_HEARTBEAT_SECONDS; a replica that died stops it, so
    # its rows go stale (presence.rules.is_fresh) without anyone removing them.
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_member_presence_replica_id", "replica_id"),)
