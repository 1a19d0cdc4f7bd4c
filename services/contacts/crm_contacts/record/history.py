"""One timeline per contact: changes, notes, tasks, and comments that can mention members."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_contacts.models import Base
from crm_platform.db import UtcDateTime, utcnow


class HistoryEntry(Base):
    __tablename__ = "history"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUIDv7: time-ordered
    workspace_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))  # created, updated, stage_changed, status_changed, ...
    actor_id: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_history_workspace_id_contact_id_id", "workspace_id", "contact_id", "id"),)
