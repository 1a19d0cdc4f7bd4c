"""A workspace's automation settings (one row once an admin saved them; the defaults before that)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_platform.db import UtcDateTime, utcnow
from crm_tickets.models import Base
from crm_tickets.tickets.models import Ticket


class AutomationSettings(Base):
    __tablename__ = "ticket_automation_settings"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_reply_sets_pending: Mapped[bool] = mapped_column(Boolean)
    closed_followup: Mapped[str] = mapped_column(String(30))  # reopen, new_ticket, new_ticket_after_days
    followup_after_days: Mapped[int] = mapped_column(Integer)
    auto_close_solved_after_days: Mapped[int | None] = mapped_column(Integer, default=None)  # None: never
    version: Mapped[int] = mapped_column(Integer, default=1)  # the ETag of the settings
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))


# The auto-close loop's look for solved tickets quiet for long enough, across workspaces.
Index("ix_tickets_status_solved_at", Ticket.status, Ticket.solved_at)
