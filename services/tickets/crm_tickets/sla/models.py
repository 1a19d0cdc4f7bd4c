"""A workspace's SLA calendar and policies, and each ticket's deadlines as last computed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from crm_platform.db import UtcDateTime, utcnow
from crm_tickets.models import Base
from crm_tickets.tickets.models import Ticket


class SlaSettings(Base):
    """The business calendar SLA targets are counted on (one row once an admin saved it)."""

    __tablename__ = "ticket_sla_settings"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    # {"mon": [["09:00", "17:00"], ...], ...}: every weekday, [] for none
    business_hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    holidays: Mapped[list[str]] = mapped_column(JSON)  # ISO dates
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))


class SlaPolicy(Base):
    """The targets of one priority of a workspace, in business minutes (None: no such target)."""

    __tablename__ = "ticket_sla_policies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    priority: Mapped[str] = mapped_column(String(10))
    first_response_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    update_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    solution_minutes: Mapped[int | None] = mapped_column(Integer, default=None)

    __table_args__ = (
        UniqueConstraint("workspace_id", "priority", name="uq_ticket_sla_policies_workspace_id_priority"),
    )


class TicketSla(Base):
    """One ticket's deadlines under its priority's policy, recomputed when the ticket changes, and which
    targets were reported breached (once each)."""

    __tablename__ = "ticket_slas"

    ticket_id: Mapped[str] = mapped_column(String(36), ForeignKey("tickets.id"), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    policy_id: Mapped[str | None] = mapped_column(String(36), default=None)  # None: no policy applies
    ticket_status: Mapped[str] = mapped_column(String(20))  # as of the last computation
    first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    first_response_met: Mapped[bool | None] = mapped_column(Boolean, default=None)  # None: running
    update_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    update_met: Mapped[bool | None] = mapped_column(Boolean, default=None)
    solution_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    solution_met: Mapped[bool | None] = mapped_column(Boolean, default=None)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    update_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    solution_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # The earliest due time not met and not yet reported: the breach loop's indexed look.
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # The workspace's calendar or policies changed since: the loop computes the row again.
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    # Loaded with the tickets they belong to (one IN query per page), for the ticket's JSON.
    ticket: Mapped[Ticket] = relationship(
        viewonly=True, backref=backref("sla", uselist=False, lazy="selectin", viewonly=True)
    )

    __table_args__ = (
        Index("ix_ticket_slas_next_due_at", "next_due_at"),
        Index("ix_ticket_slas_workspace_id", "workspace_id"),
        Index("ix_ticket_slas_stale", "stale"),
    )

    def breached_at(self, target: str) -> datetime | None:
        return getattr(self, f"{target}_breached_at")  # type: ignore[no-any-return]
