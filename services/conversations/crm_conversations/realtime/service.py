"""The realtime log's writes (in the change's transaction) and the reads the server makes of it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from crm_conversations.conversations.models import Conversation
from crm_conversations.models import visibility
from crm_conversations.realtime import rules
from crm_conversations.realtime.models import RealtimeEvent
from crm_platform.db import Database, Emitted, UnitOfWork, utcnow
from crm_platform.visibility import DEFAULT_AGENTS_SEE_ALL

RETENTION = timedelta(hours=24)
KEPT_AT_LEAST = 100_000  # rows kept whatever their age, so a busy hour never empties the log below a reconnect


def record(uow: UnitOfWork, emitted: Sequence[Emitted]) -> None:
    """``ServiceSpec.on_emit``: the streamed events among those emitted, into the log in the same transaction."""
    now = utcnow()
    rows = []
    for event in emitted:
        entry = rules.entry_of(event.event_type, event.payload)
        if entry is None:
            continue
        rows.append(
            {
                "workspace_id": event.workspace_id,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "conversation_id": entry.conversation_id,
                "contact_id": entry.contact_id,
                "data": entry.data,
                "visitor_data": entry.visitor_data,
                "ends_visitor_stream": entry.ends_visitor_stream,
                "occurred_at": now,
            }
        )
    if rows:  # one INSERT, sent with the others inside ``uow.pipeline``; the ids come from the table's sequence
        uow.insert(RealtimeEvent, rows)


@dataclass(frozen=True)
class Logged:
    """A log row as the server fans it out."""

    id: int
    workspace_id: str
    event_type: str
    conversation_id: str
    contact_id: str | None
    data: dict[str, Any]
    visitor_data: dict[str, Any] | None
    ends_visitor_stream: bool
    occurred_at: datetime


_COLUMNS = (
    RealtimeEvent.id,
    RealtimeEvent.workspace_id,
    RealtimeEvent.event_type,
    RealtimeEvent.conversation_id,
    RealtimeEvent.contact_id,
    RealtimeEvent.data,
    RealtimeEvent.visitor_data,
    RealtimeEvent.ends_visitor_stream,
    RealtimeEvent.occurred_at,
)


def after(database: Database, cursor: int, *, until: int | None = None, limit: int = 1000) -> list[Logged]:
    """The committed rows after ``cursor`` (up to ``until``), in id order."""
    query = select(*_COLUMNS).where(RealtimeEvent.id > cursor).order_by(RealtimeEvent.id).limit(limit)
    if until is not None:
        query = query.where(RealtimeEvent.id <= until)
    with database.engine.connect() as connection:
        return [Logged(*row) for row in connection.execute(query)]


def bounds(database: Database) -> tuple[int, int]:
    """(the oldest id kept, the newest id) of the log; (0, 0) when it is empty."""
    with database.engine.connect() as connection:
        oldest, newest = connection.execute(select(func.min(RealtimeEvent.id), func.max(RealtimeEvent.id))).one()
    return int(oldest or 0), int(newest or 0)


def prune(database: Database, *, now: datetime | None = None) -> None:
    """Forget rows older than RETENTION beyond the newest KEPT_AT_LEAST."""
    cutoff = (now or utcnow()) - RETENTION
    _, newest = bounds(database)
    with database.engine.begin() as connection:
        connection.execute(
            delete(RealtimeEvent).where(RealtimeEvent.occurred_at < cutoff, RealtimeEvent.id <= newest - KEPT_AT_LEAST)
        )


@dataclass(frozen=True)
class Visibility:
    """What agents' filters need for a batch of rows: each workspace's setting, and the owners of its contacts."""

    sees_all: dict[str, bool]
    owners: dict[tuple[str, str], tuple[str | None, bool]]  # (workspace, contact) -> (owner, deleted)

    def agents_see_all(self, workspace_id: str) -> bool:
        return self.sees_all.get(workspace_id, DEFAULT_AGENTS_SEE_ALL)


def visibility_of(database: Database, rows: Iterable[Logged]) -> Visibility:
    """The copy of contacts' visibility (crm_platform.visibility) for the rows' workspaces and contacts."""
    rows = list(rows)
    workspaces = {row.workspace_id for row in rows}
    if not workspaces:
        return Visibility({}, {})
    table = visibility.workspaces
    with database.engine.connect() as connection:
        sees_all = {
            ws: bool(value)
            for ws, value in connection.execute(
                select(table.c.workspace_id, table.c.agents_see_all).where(table.c.workspace_id.in_(workspaces))
            )
        }
        limited = {ws for ws in workspaces if not sees_all.get(ws, DEFAULT_AGENTS_SEE_ALL)}
        owners: dict[tuple[str, str], tuple[str | None, bool]] = {}
        contacts = {row.contact_id for row in rows if row.workspace_id in limited and row.contact_id}
        if contacts:
            known = visibility.contacts.c
            for ws, contact_id, owner_id, deleted in connection.execute(
                select(known.workspace_id, known.contact_id, known.owner_id, known.deleted).where(
                    known.workspace_id.in_(limited), known.contact_id.in_(contacts)
                )
            ):
                owners[(ws, contact_id)] = (owner_id, bool(deleted))
    return Visibility(sees_all, owners)


def conversation_is_live(database: Database, *, workspace_id: str, conversation_id: str) -> bool:
    """Whether a visitor's conversation exists in the workspace and is not deleted."""
    with database.engine.connect() as connection:
        found = connection.execute(
            select(Conversation.id).where(
                Conversation.workspace_id == workspace_id,
                Conversation.id == conversation_id,
                Conversation.deleted_at.is_(None),
            )
        ).first()
    return found is not None
