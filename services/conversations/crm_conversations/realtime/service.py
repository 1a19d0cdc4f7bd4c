"""The realtime log's writes (in the change's transaction) and the reads the server makes of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select

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
    """A log row as the server fans it out, with what agents' filters need of its contact (read with it)."""

    id: int
    workspace_id: str
    event_type: str
    conversation_id: str
    contact_id: str | None
    data: dict[str, Any]
    visitor_data: dict[str, Any] | None
    ends_visitor_stream: bool
    occurred_at: datetime
    agents_see_all: bool = DEFAULT_AGENTS_SEE_ALL  # the workspace's setting (crm_platform.visibility's copy)
    owner_id: str | None = None  # the contact's owner, when agents see only their own
    contact_deleted: bool = False


_setting, _known = visibility.workspaces.c, visibility.contacts.c
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
    _setting.agents_see_all,
    _known.owner_id,
    _known.deleted,
)
# One query per read of the log: the rows and the visibility copy's say on each, joined.
_AFTER = (
    select(*_COLUMNS)
    .outerjoin(visibility.workspaces, _setting.workspace_id == RealtimeEvent.workspace_id)
    .outerjoin(
        visibility.contacts,
        and_(_known.workspace_id == RealtimeEvent.workspace_id, _known.contact_id == RealtimeEvent.contact_id),
    )
    .order_by(RealtimeEvent.id)
)


def after(database: Database, cursor: int, *, until: int | None = None, limit: int = 1000) -> list[Logged]:
    """The committed rows after ``cursor`` (up to ``until``), in id order."""
    query = _AFTER.where(RealtimeEvent.id > cursor).limit(limit)
    if until is not None:
        query = query.where(RealtimeEvent.id <= until)
    with database.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        Logged(
            id=row[0],
            workspace_id=row[1],
            event_type=row[2],
            conversation_id=row[3],
            contact_id=row[4],
            data=row[5],
            visitor_data=row[6],
            ends_visitor_stream=row[7],
            occurred_at=row[8],
            agents_see_all=DEFAULT_AGENTS_SEE_ALL if row[9] is None else bool(row[9]),
            owner_id=row[10],
            contact_deleted=bool(row[11]),
        )
        for row in rows
    ]


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
