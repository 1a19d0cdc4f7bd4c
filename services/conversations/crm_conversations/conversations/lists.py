"""The lists of conversations a member sees: a view's page, the views bar's counts, a contact's latest ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, tuple_
from sqlalchemy.orm import Session

from crm_conversations.conversations import counts as view_counts
from crm_conversations.conversations import rules
from crm_conversations.conversations.models import Conversation
from crm_conversations.models import visibility
from crm_conversations.unread.models import ReadMarker
from crm_platform import paging
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork

ACTIVITY_ORDER = "activity"  # the cursor scope of the lists: latest activity first


@dataclass(frozen=True)
class Listed:
    conversation: Any  # a row of LISTED_COLUMNS (attributes named as Conversation's), not an ORM object
    unread_count: int


# What a list shows of each conversation: Core rows of these, no ORM objects to build, track and expire.
LISTED_COLUMNS = (
    Conversation.id,
    Conversation.contact_id,
    Conversation.contact_name,
    Conversation.contact_email,
    Conversation.contact_phone,
    Conversation.subject,
    Conversation.channel,
    Conversation.status,
    Conversation.assignee_id,
    Conversation.message_count,
    Conversation.version,
    Conversation.created_at,
    Conversation.updated_at,
    Conversation.last_activity_at,
    Conversation.last_message_at,
    Conversation.first_response_at,
    Conversation.archived_at,
)


@dataclass(frozen=True)
class ListQuery:
    view: str = rules.ALL
    member_id: str | None = None
    status: str | None = rules.OPEN  # None: both
    search: str | None = None
    contact_id: str | None = None


def _unread_column(caller: Caller) -> Any:
    return Conversation.message_count - func.coalesce(ReadMarker.read_count, 0)


def _base(session: Session, caller: Caller, wanted: ListQuery, *columns: Any) -> Select[Any]:
    """The conversations of a view the caller may see, joined with the caller's read markers."""
    query = (
        select(*columns)
        .select_from(Conversation)
        .outerjoin(
            ReadMarker,
            and_(
                ReadMarker.workspace_id == Conversation.workspace_id,
                ReadMarker.conversation_id == Conversation.id,
                ReadMarker.member_id == caller.user_id,
            ),
        )
        .where(Conversation.workspace_id == caller.workspace_id, Conversation.deleted_at.is_(None))
    )
    if wanted.status:
        query = query.where(Conversation.status == wanted.status)
    if wanted.contact_id:
        query = query.where(Conversation.contact_id == wanted.contact_id)
    if wanted.view == rules.MINE:
        query = query.where(Conversation.assignee_id == caller.user_id)
    elif wanted.view == rules.UNASSIGNED:
        query = query.where(Conversation.assignee_id.is_(None))
    elif wanted.view == rules.MEMBER:
        query = query.where(Conversation.assignee_id == wanted.member_id)
    search = rules.parse_search(wanted.search)
    if search is not None:
        if search.email:
            query = query.where(Conversation.contact_email == search.email)
        elif search.phone_digits:
            query = query.where(Conversation.contact_phone.like(f"%{search.phone_digits}"))
        elif search.name_prefix:
            query = query.where(
                or_(
                    Conversation.contact_name_key.like(rules.like_prefix(search.name_prefix), escape="\\"),
                    Conversation.contact_name_key.like("% " + rules.like_prefix(search.name_prefix), escape="\\"),
                )
            )
    return visibility.restrict(query, session, caller, Conversation.contact_id)


def list_page(
    uow: UnitOfWork, *, caller: Caller, wanted: ListQuery, limit: int, cursor: str | None
) -> paging.Page[Listed]:
    """A page of a view, latest activity first, each with the caller's unread count."""
    rules.check_view(wanted.view, wanted.member_id)
    position = _position(cursor)
    with uow:
        query = _base(uow.session, caller, wanted, *LISTED_COLUMNS, _unread_column(caller).label("unread"))
        if position is not None:
            at, after_id = position
            # A row comparison: the index's range starts at the cursor, so a deep page reads no earlier rows.
            query = query.where(tuple_(Conversation.last_activity_at, Conversation.id) < (at, after_id))
        # On the session's connection: plain Core rows, without the ORM's execution and loading steps.
        rows = (
            uow.session.connection()
            .execute(query.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(limit + 1))
            .all()
        )
        listed = [Listed(row, max(int(row.unread), 0)) for row in rows]
    return paging.cut(
        listed,
        limit,
        key=lambda item: [item.conversation.last_activity_at.isoformat(), item.conversation.id],  # type: ignore[union-attr]
        scope=ACTIVITY_ORDER,
    )


def _position(cursor: str | None) -> tuple[datetime, str] | None:
    found = paging.after(cursor, scope=ACTIVITY_ORDER)
    if found is None:
        return None
    try:
        at, after_id = found
        return datetime.fromisoformat(at), str(after_id)
    except (TypeError, ValueError):
        raise paging.invalid_cursor() from None


def counts(uow: UnitOfWork, *, caller: Caller, status: str | None, search: str | None = None) -> dict[str, Any]:
    """How many conversations each view holds, and how many of them the caller has unread. From the counters
    and the caller's own read markers when it sees every contact of the workspace and searches nothing;
    otherwise one GROUP BY over the conversations it may see (an agent restricted to its own contacts, a
    search)."""
    with uow:
        if search is None and visibility.sees_all(uow.session, caller):
            groups = _counted_groups(uow.session, caller, status)
        else:
            unread = _unread_column(caller)
            query = _base(
                uow.session,
                caller,
                ListQuery(view=rules.ALL, status=status, search=search),
                Conversation.assignee_id,
                func.count(),
                func.sum(case((unread > 0, 1), else_=0)),
            ).group_by(Conversation.assignee_id)
            groups = {row[0]: (int(row[1]), int(row[2] or 0)) for row in uow.session.execute(query)}
    total = sum(n for n, _ in groups.values())
    return {
        "status": status,
        "all": {"count": total, "unread": sum(u for _, u in groups.values())},
        "mine": _group(groups.get(caller.user_id)),
        "unassigned": _group(groups.get(None)),
        "members": {member: _group(found) for member, found in sorted(groups.items(), key=str) if member},
    }


def _counted_groups(session: Session, caller: Caller, status: str | None) -> dict[str | None, tuple[int, int]]:
    """Per assignee, (conversations, unread) from the counters: unread is the count less the conversations
    without a message and less those the caller has read to the end (its markers joined, nothing else)."""
    statuses = [status] if status else list(rules.STATUSES)
    counted = view_counts.read(session, caller.workspace_id, statuses)
    read_to_end = (
        select(Conversation.assignee_id, func.count())
        .select_from(ReadMarker)
        .join(
            Conversation,
            and_(Conversation.workspace_id == ReadMarker.workspace_id, Conversation.id == ReadMarker.conversation_id),
        )
        .where(
            ReadMarker.workspace_id == caller.workspace_id,
            ReadMarker.member_id == caller.user_id,
            Conversation.deleted_at.is_(None),
            Conversation.status.in_(statuses),
            Conversation.message_count > 0,
            ReadMarker.read_count >= Conversation.message_count,
        )
        .group_by(Conversation.assignee_id)
    )
    read = {who: int(n) for who, n in session.execute(read_to_end)}
    return {who: (n, max(n - empty - read.get(who, 0), 0)) for who, (n, empty) in counted.items()}


def _group(found: tuple[int, int] | None) -> dict[str, int]:
    return {"count": found[0], "unread": found[1]} if found else {"count": 0, "unread": 0}


def recent_for_contact(uow: UnitOfWork, *, caller: Caller, contact_id: str, limit: int) -> list[Any]:
    """The contact's conversations the caller may see (rows of ``LISTED_COLUMNS``), latest activity first."""
    with uow:
        query = _base(uow.session, caller, ListQuery(status=None, contact_id=contact_id), *LISTED_COLUMNS)
        return list(
            uow.session.execute(
                query.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc()).limit(limit)
            )
        )
