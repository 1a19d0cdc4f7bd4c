"""Read markers: a member's own position in each conversation, moved forward only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.events.v1 import conversations_pb2
from crm_conversations.conversations import service as conversations
from crm_conversations.unread.models import ReadMarker
from crm_events.conversations import CONVERSATION_READ
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow


def advance(session: Session, workspace_id: str, conversation_id: str, member_id: str, read_count: int) -> bool:
    """Move the member's marker to ``read_count`` (never back: two tabs reading at once keep the further one);
    True when it moved. One upsert on PostgreSQL and SQLite alike."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    statement = upsert(ReadMarker).values(
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        member_id=member_id,
        read_count=read_count,
        read_at=utcnow(),
    )
    statement = statement.on_conflict_do_update(
        index_elements=[ReadMarker.workspace_id, ReadMarker.conversation_id, ReadMarker.member_id],
        set_={"read_count": statement.excluded.read_count, "read_at": statement.excluded.read_at},
        where=ReadMarker.read_count < statement.excluded.read_count,
    )
    # RETURNING says whether a row was written: rowcount of an upsert differs between drivers.
    return session.execute(statement.returning(ReadMarker.read_count)).first() is not None


def mark_read(uow: UnitOfWork, *, caller: Caller, conversation_id: str) -> int:
    """The caller has read the conversation up to its latest message (for them only); emits
    conversations.conversation.read when that moved their marker. The count read."""
    with uow:
        conversation = conversations.find(uow.session, caller, conversation_id)
        count = conversation.message_count
        if advance(uow.session, caller.workspace_id, conversation.id, caller.user_id, count):
            uow.emit(
                CONVERSATION_READ,
                conversations_pb2.ConversationRead(
                    conversation_id=conversation.id, member_id=caller.user_id, read_count=count
                ),
                workspace_id=caller.workspace_id,
            )
        uow.commit()
    return count
