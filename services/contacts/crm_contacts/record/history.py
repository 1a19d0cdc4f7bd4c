"""One timeline per contact (changes, notes, tasks, comments), and ``record``, how every feature writes to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_contacts.models import Base
from crm_platform.db import UnitOfWork, UtcDateTime, utcnow
from crm_platform.ids import new_id


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


def record(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    contact_id: str,
    kind: str,
    actor_id: str | None,
    data: dict[str, Any] | None = None,
) -> HistoryEntry:
    """Add an entry to the contact's timeline, inside the caller's transaction.

    The INSERT runs now (``UnitOfWork.insert``; inside ``UnitOfWork.pipeline`` it is sent with the others). The
    entry returned is not in the session; nothing changes an entry after it is written.
    """
    entry = HistoryEntry(
        id=new_id(),
        workspace_id=workspace_id,
        contact_id=contact_id,
        kind=kind,
        actor_id=actor_id,
        data=data or {},
        created_at=utcnow(),
    )
    uow.insert(HistoryEntry, entry)
    return entry


def write(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    contact_id: str,
    kind: str,
    actor_id: str | None,
    data: dict[str, Any] | None = None,
) -> None:
    """``record`` for a writer that needs no entry back (every event's entry): the same row, sent as a plain dict,
    without building the ORM object."""
    uow.insert(
        HistoryEntry,
        {
            "id": new_id(),
            "workspace_id": workspace_id,
            "contact_id": contact_id,
            "kind": kind,
            "actor_id": actor_id,
            "data": data or {},
            "created_at": utcnow(),
        },
    )
