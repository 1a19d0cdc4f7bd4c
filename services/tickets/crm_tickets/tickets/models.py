"""Tickets, their tags and status history, and the ticket-number counter (comments: crm_tickets.comments)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_platform.db import UtcDateTime, utcnow
from crm_tickets.models import Base
from crm_tickets.tickets.rules import NEW, NORMAL


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    # Per workspace, sequential, never reused: [#1234]. Nullable in the database for one release only (the
    # previous release inserts tickets without it during a rolling upgrade); this code always sets it.
    number: Mapped[int] = mapped_column(BigInteger, nullable=True)
    contact_id: Mapped[str] = mapped_column(String(36))
    # A snapshot of the contact when the ticket was opened (or last re-pointed): a deleted contact's
    # tickets still say who they were for.
    contact_name: Mapped[str | None] = mapped_column(String(300), default=None)
    contact_email: Mapped[str | None] = mapped_column(String(320), default=None)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default=NEW)
    priority: Mapped[str] = mapped_column(String(10), default=NORMAL)
    responsible_id: Mapped[str | None] = mapped_column(String(100), default=None)  # None: unassigned
    opened_by: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20), default="api")  # api, email
    merged_into_id: Mapped[str | None] = mapped_column(String(36), default=None)
    followup_of_id: Mapped[str | None] = mapped_column(String(36), default=None)  # the closed ticket it follows
    version: Mapped[int] = mapped_column(Integer, default=1)  # the ETag; every change bumps it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, nullable=True)  # as number
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_customer_reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_agent_reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    solved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (
        UniqueConstraint("workspace_id", "number", name="uq_tickets_workspace_id_number"),
        Index("ix_tickets_workspace_id_id", "workspace_id", "id"),
        Index("ix_tickets_workspace_id_contact_id", "workspace_id", "contact_id"),
    )


class TicketCounter(Base):
    """The last ticket number a workspace handed out; numbers are taken with one upsert, so a rolled-back
    ticket leaves a gap and no number is ever given twice."""

    __tablename__ = "ticket_counters"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class TicketTag(Base):
    __tablename__ = "ticket_tags"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36), ForeignKey("tickets.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)

    __table_args__ = (Index("ix_ticket_tags_workspace_id_tag", "workspace_id", "tag"),)


class StatusChange(Base):
    """One move of a ticket's status: when, by whom (a member or "system") and why."""

    __tablename__ = "ticket_status_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    ticket_id: Mapped[str] = mapped_column(String(36), ForeignKey("tickets.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))  # None: the ticket was opened
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_ticket_status_changes_workspace_id_ticket_id", "workspace_id", "ticket_id"),)
