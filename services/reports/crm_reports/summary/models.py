"""Activity facts: one row per counted event, so any range can be summed later."""

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_platform.db import UtcDateTime
from crm_reports.models import Base


class ActivityFact(Base):
    __tablename__ = "activity_facts"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_activity_facts_workspace_id_kind_occurred_at", "workspace_id", "kind", "occurred_at"),)
