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
    contact_deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)  # contacts deleted it
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
        # One index per filter, each ending with the default order (created_at, id): a filtered page is an
        # index range read backwards and stopped after limit + 1 rows (bench/tickets_scale.md).
        Index("ix_tickets_workspace_id_contact_id_created_at", "workspace_id", "contact_id", "created_at", "id"),
        Index("ix_tickets_workspace_id_created_at", "workspace_id", "created_at", "id"),
        Index("ix_tickets_workspace_id_updated_at", "workspace_id", "updated_at", "id"),
        Index("ix_tickets_workspace_id_status_created_at", "workspace_id", "status", "created_at", "id"),
        Index(
            "ix_tickets_workspace_id_responsible_id_created_at", "workspace_id", "responsible_id", "created_at", "id"
        ),
        Index("ix_tickets_workspace_id_priority_created_at", "workspace_id", "priority", "created_at", "id"),
        # text in the subject (ILIKE '%word%'); PostgreSQL with pg_trgm only, see its migration
        Index(
            "ix_tickets_subject_trgm", "subject", postgresql_using="gin", postgresql_ops={"subject": "gin_trgm_ops"}
        ).ddl_if(dialect="postgresql"),
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
    # The ticket's created_at, copied (it never changes), so that a tag's page in the default order is a range of
    # the tag's index stopped after limit + 1 rows instead of a read of every ticket with the tag. Written with
    # the tag by every writer. Nullable in the database for one release only (the previous release inserts tags
    # without it during a rolling upgrade); this code always sets it.
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_ticket_tags_workspace_id_tag_created_at", "workspace_id", "tag", "created_at", "ticket_id"),
    )


class TicketViewCount(Base):
    """How many tickets of a workspace have a status and a responsible (``""``: unassigned): the views bar's
    counts in one small read instead of a count over a million rows. Kept in the transaction of every change
    of a ticket's status or responsible by ``crm_tickets.tickets.counts`` (a flush hook, whichever code makes
    the change); the migration that made it counted the tickets already there."""

    __tablename__ = "ticket_view_counts"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    responsible_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tickets: Mapped[int] = mapped_column(BigInteger)


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
