"""Use cases on tickets; each one is one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from crm.events.v1 import tickets_pb2
from crm_events.tickets import (
    TICKET_ASSIGNED,
    TICKET_MERGED,
    TICKET_OPENED,
    TICKET_PRIORITY_CHANGED,
    TICKET_STATUS_CHANGED,
)
from crm_platform import paging
from crm_platform.clients.contacts import ContactDirectory, require_visible_contact
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import FieldError, InvalidInput, NotFound, phrase
from crm_platform.ids import new_id
from crm_platform.versioning import check_version
from crm_tickets.comments.models import Comment
from crm_tickets.models import visibility
from crm_tickets.tickets import counts, rules
from crm_tickets.tickets.models import StatusChange, Ticket, TicketCounter, TicketTag


def next_number(session: Session, workspace_id: str) -> int:
    """The workspace's next ticket number, taken with one upsert (PostgreSQL and SQLite alike): concurrent
    openers queue on the counter's row, a rolled-back ticket leaves a gap, no number is handed out twice."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    statement = (
        upsert(TicketCounter)
        .values(workspace_id=workspace_id, last_number=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.workspace_id], set_={"last_number": TicketCounter.last_number + 1}
        )
        .returning(TicketCounter.last_number)
    )
    return int(session.execute(statement).scalar_one())


def move_status(
    uow: UnitOfWork,
    ticket: Ticket,
    wanted: str,
    *,
    actor_id: str,
    reason: str | None = None,
    reopen: bool = False,
    now: datetime | None = None,
) -> bool:
    """Move a ticket (loaded in ``uow``'s open transaction) to ``wanted`` as ``rules.check_move`` allows:
    the status history row, the timestamps, the version and ``tickets.ticket.status_changed``. Every
    status change goes through here, whoever makes it (a member, a customer's reply, automation).
    False when the ticket already had that status (nothing recorded)."""
    move = rules.check_move(ticket.status, wanted, reopen=reopen)
    if not move.changes:
        return False
    now = now or utcnow()
    ticket.status = move.to_status
    for column, value in rules.timestamps_after(move, now).items():
        setattr(ticket, column, value)
    ticket.version += 1
    ticket.updated_at = now
    uow.session.add(
        StatusChange(
            id=new_id(),
            workspace_id=ticket.workspace_id,
            ticket_id=ticket.id,
            from_status=move.from_status,
            to_status=move.to_status,
            actor_id=actor_id,
            reason=reason,
            changed_at=now,
        )
    )
    uow.emit(
        TICKET_STATUS_CHANGED,
        tickets_pb2.TicketStatusChanged(
            ticket_id=ticket.id,
            contact_id=ticket.contact_id,
            number=ticket.number,
            from_status=move.from_status,
            to_status=move.to_status,
            actor_id=actor_id,
            reason=reason or "",
        ),
        workspace_id=ticket.workspace_id,
    )
    return True


def _record_opening(uow: UnitOfWork, ticket: Ticket, *, tags: Sequence[str], reason: str) -> None:
    """What opening a ticket writes, whoever opens it: the row, its tags, the first history row (from nothing to
    its status) and tickets.ticket.opened."""
    uow.session.add(ticket)
    uow.session.flush()
    if tags:
        uow.session.execute(
            insert(TicketTag),
            [{"workspace_id": ticket.workspace_id, "ticket_id": ticket.id, "tag": tag} for tag in tags],
        )
    uow.session.add(
        StatusChange(
            id=new_id(),
            workspace_id=ticket.workspace_id,
            ticket_id=ticket.id,
            from_status=None,
            to_status=ticket.status,
            actor_id=ticket.opened_by,
            reason=reason,
            changed_at=ticket.created_at,
        )
    )
    uow.emit(
        TICKET_OPENED,
        tickets_pb2.TicketOpened(
            ticket_id=ticket.id,
            contact_id=ticket.contact_id,
            subject=ticket.subject,
            opened_by=ticket.opened_by,
            number=ticket.number,
            status=ticket.status,
            priority=ticket.priority,
            responsible_id=ticket.responsible_id or "",
            channel=ticket.channel,
        ),
        workspace_id=ticket.workspace_id,
    )


def open_ticket(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    *,
    caller: Caller,
    subject: str,
    contact_id: str,
    priority: str = rules.NORMAL,
    responsible_id: str | None = None,
    tags: Sequence[str] = (),
) -> Ticket:
    """Open a ticket for a contact the caller may see; emits tickets.ticket.opened."""
    subject = rules.clean_subject(subject)
    priority = rules.check_priority(priority)
    tags = rules.clean_tags(tags)
    asked_at = utcnow()
    access = require_visible_contact(contacts, contact_id, what="ticket")
    card = contacts.get(contact_id)  # the snapshot: a deleted contact's tickets still say who they were for
    if responsible_id is not None:
        require_member(contacts, responsible_id)
    workspace_id = caller.workspace_id
    with uow:
        # What contacts just said is recorded with the ticket, so the opener sees it at once.
        visibility.record_owner(
            uow.session, workspace_id=workspace_id, contact_id=contact_id, owner_id=access.owner_id, as_of=asked_at
        )
        visibility.record_setting(
            uow.session, workspace_id=workspace_id, agents_see_all=access.agents_see_all, as_of=asked_at
        )
        ticket = Ticket(
            id=new_id(),
            workspace_id=workspace_id,
            number=next_number(uow.session, workspace_id),
            contact_id=contact_id,
            contact_name=card.name[:300] or None,
            contact_email=(card.email or "")[:320] or None,
            subject=subject,
            status=rules.NEW,
            priority=priority,
            responsible_id=responsible_id,
            opened_by=caller.user_id,
            channel="api",
            version=1,
            created_at=asked_at,
            updated_at=asked_at,
        )
        _record_opening(uow, ticket, tags=tags, reason="opened")
        uow.commit()
    return ticket


def require_member(contacts: ContactDirectory, member_id: str) -> None:
    """A responsible must be a member of the caller's workspace (asked of contacts, which owns members)."""
    if contacts.member(member_id) is None:
        raise InvalidInput(
            "the ticket has invalid fields",
            errors=[
                FieldError(
                    "responsible_id", phrase("no member {id} in this workspace", id=member_id[:100]), "unknown_member"
                )
            ],
        )


def _get(uow: UnitOfWork, caller: Caller, ticket_id: str) -> Ticket:
    """The ticket, if the caller may see its contact; otherwise not found, as for another workspace."""
    ticket = get_in_workspace(uow.session, Ticket, ticket_id, workspace_id=caller.workspace_id, what="ticket")
    visibility.require(uow.session, caller, ticket.contact_id, not_found=f"ticket {ticket_id} not found")
    return ticket


def get_visible(uow: UnitOfWork, caller: Caller, ticket_id: str) -> Ticket:
    """The ticket in ``uow``'s open transaction, if the caller may see its contact (for the other features
    of this service, e.g. comments); otherwise not found, as for another workspace."""
    return _get(uow, caller, ticket_id)


def get_for_update(uow: UnitOfWork, caller: Caller, ticket_id: str) -> Ticket:
    """As ``get_visible``, with the ticket's row locked until the transaction ends (PostgreSQL), for a
    feature that changes it (a comment moving its status and reply timestamps)."""
    ticket = _get(uow, caller, ticket_id)
    uow.session.refresh(ticket, with_for_update=True)
    return ticket


def get(uow: UnitOfWork, *, caller: Caller, ticket_id: str) -> Ticket:
    """One ticket the caller may see."""
    with uow:
        return _get(uow, caller, ticket_id)


def list_page(
    uow: UnitOfWork, *, caller: Caller, limit: int, after_id: str | None, contact_id: str | None
) -> list[Ticket]:
    """A page of the tickets the caller may see, newest first; one row more than ``limit`` says a next page exists."""
    query = select(Ticket).where(Ticket.workspace_id == caller.workspace_id)
    if contact_id:
        query = query.where(Ticket.contact_id == contact_id)
    if after_id:
        query = query.where(Ticket.id < after_id)
    with uow:
        query = visibility.restrict(query, uow.session, caller, Ticket.contact_id)
        return list(uow.session.scalars(query.order_by(Ticket.id.desc()).limit(limit + 1)))


def get_in_workspace_for_update(uow: UnitOfWork, workspace_id: str, ticket_id: str) -> Ticket:
    """A ticket of the workspace, locked until the transaction ends, for what the system does on its own (a
    customer's reply by mail); no caller's visibility applies. NotFound for another workspace's id."""
    ticket = get_in_workspace(uow.session, Ticket, ticket_id, workspace_id=workspace_id, what="ticket")
    uow.session.refresh(ticket, with_for_update=True)
    return ticket


def open_followup(uow: UnitOfWork, closed: Ticket, *, now: datetime | None = None) -> Ticket:
    """A new ticket following up a closed one (its contact, subject and priority; ``followup_of_id`` links it),
    opened by the system in the caller's open transaction when a customer replies to a closed ticket and the
    workspace's automation says so; emits tickets.ticket.opened."""
    now = now or utcnow()
    ticket = Ticket(
        id=new_id(),
        workspace_id=closed.workspace_id,
        number=next_number(uow.session, closed.workspace_id),
        contact_id=closed.contact_id,
        contact_name=closed.contact_name,
        contact_email=closed.contact_email,
        subject=closed.subject,
        status=rules.NEW,
        priority=closed.priority,
        responsible_id=closed.responsible_id,
        opened_by=rules.SYSTEM,
        channel="email",
        followup_of_id=closed.id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _record_opening(uow, ticket, tags=(), reason=f"follow-up of #{closed.number}")
    return ticket


# Changing a ticket ------------------------------------------------------------------------------------------
def _tags_of(session: Session, ticket: Ticket) -> list[str]:
    return list(
        session.scalars(
            select(TicketTag.tag)
            .where(TicketTag.workspace_id == ticket.workspace_id, TicketTag.ticket_id == ticket.id)
            .order_by(TicketTag.tag)
        )
    )


@dataclass(frozen=True)
class Shown:
    """A ticket with its tags, as the API shows it."""

    ticket: Ticket
    tags: list[str]


def get_shown(uow: UnitOfWork, *, caller: Caller, ticket_id: str) -> Shown:
    """One ticket the caller may see, with its tags."""
    with uow:
        ticket = _get(uow, caller, ticket_id)
        return Shown(ticket, _tags_of(uow.session, ticket))


def update(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    *,
    caller: Caller,
    ticket_id: str,
    changes: Mapping[str, Any],
    if_match: str | None = None,
) -> Shown:
    """Change a ticket's subject, status (``reopen``, ``reason``), priority, responsible (None: unassign) or
    tags (replaced), in one transaction: the version once, tickets.ticket.status_changed (``move_status``),
    assigned and priority_changed. ``If-Match`` naming another version is a 412 before anything changes."""
    rules.check_change(changes)
    subject = rules.clean_subject(changes["subject"]) if "subject" in changes else None
    priority = rules.check_priority(changes["priority"]) if "priority" in changes else None
    tags = rules.clean_tags(changes["tags"]) if changes.get("tags") is not None else None
    responsible_given = "responsible_id" in changes
    responsible_id = changes.get("responsible_id") or None
    with uow:
        session = uow.session
        ticket = _get(uow, caller, ticket_id)
        check_version(ticket.version, if_match, what="ticket")
        now = utcnow()
        version_before = ticket.version
        changed = False
        if "status" in changes and changes["status"] is not None:
            changed |= move_status(
                uow,
                ticket,
                changes["status"],
                actor_id=caller.user_id,
                reason=changes.get("reason"),
                reopen=bool(changes.get("reopen")),
                now=now,
            )
        if subject is not None and subject != ticket.subject:
            ticket.subject, changed = subject, True
        if priority is not None and priority != ticket.priority:
            before, ticket.priority, changed = ticket.priority, priority, True
            uow.emit(
                TICKET_PRIORITY_CHANGED,
                tickets_pb2.TicketPriorityChanged(
                    ticket_id=ticket.id,
                    contact_id=ticket.contact_id,
                    number=ticket.number,
                    from_priority=before,
                    to_priority=priority,
                    actor_id=caller.user_id,
                ),
                workspace_id=ticket.workspace_id,
            )
        if responsible_given and responsible_id != ticket.responsible_id:
            if responsible_id is not None:
                require_member(contacts, responsible_id)
            before_id, ticket.responsible_id, changed = ticket.responsible_id, responsible_id, True
            uow.emit(
                TICKET_ASSIGNED,
                tickets_pb2.TicketAssigned(
                    ticket_id=ticket.id,
                    contact_id=ticket.contact_id,
                    number=ticket.number,
                    from_responsible_id=before_id or "",
                    to_responsible_id=responsible_id or "",
                    actor_id=caller.user_id,
                ),
                workspace_id=ticket.workspace_id,
            )
        current_tags = _tags_of(session, ticket)
        if tags is not None and sorted(tags) != current_tags:
            session.execute(
                delete(TicketTag).where(TicketTag.workspace_id == ticket.workspace_id, TicketTag.ticket_id == ticket.id)
            )
            if tags:
                session.execute(
                    insert(TicketTag),
                    [{"workspace_id": ticket.workspace_id, "ticket_id": ticket.id, "tag": tag} for tag in tags],
                )
            current_tags, changed = sorted(tags), True
        if not changed:
            return Shown(ticket, current_tags)
        ticket.version = version_before + 1  # once per change, even when the status moved too
        ticket.updated_at = now
        uow.commit()
    return Shown(ticket, current_tags)


def history(uow: UnitOfWork, *, caller: Caller, ticket_id: str) -> list[StatusChange]:
    """A ticket's status changes, oldest first (at most MAX_HISTORY: a ticket's life is short)."""
    with uow:
        ticket = _get(uow, caller, ticket_id)
        return list(
            uow.session.scalars(
                select(StatusChange)
                .where(StatusChange.workspace_id == ticket.workspace_id, StatusChange.ticket_id == ticket.id)
                .order_by(StatusChange.changed_at, StatusChange.id)
                .limit(MAX_HISTORY)
            )
        )


MAX_HISTORY = 1000


def merge(uow: UnitOfWork, *, caller: Caller, ticket_id: str, into_ticket_id: str) -> Shown:
    """Merge a ticket into another of the workspace (any contact, as Zammad): it closes (reason "merged") with
    ``merged_into_id``, its comments move to the target, tickets.ticket.merged. Both must be visible."""
    with uow:
        session = uow.session
        source = _get(uow, caller, ticket_id)
        try:
            target = _get(uow, caller, into_ticket_id)
        except NotFound:
            raise NotFound(f"ticket {into_ticket_id} not found") from None
        rules.check_merge(
            source_id=source.id,
            source_merged_into=source.merged_into_id,
            target_id=target.id,
            target_status=target.status,
            target_merged_into=target.merged_into_id,
        )
        now = utcnow()
        # A ticket already closed stays so (no second move); any other closes now, as merged.
        if not move_status(uow, source, rules.CLOSED, actor_id=caller.user_id, reason=rules.MERGED_REASON, now=now):
            source.version += 1
            source.updated_at = now
        source.merged_into_id = target.id
        moved = session.execute(
            update_rows(Comment)
            .where(Comment.workspace_id == source.workspace_id, Comment.ticket_id == source.id)
            .values(ticket_id=target.id)
        ).rowcount  # type: ignore[attr-defined]
        target.version += 1
        target.updated_at = now
        uow.emit(
            TICKET_MERGED,
            tickets_pb2.TicketMerged(
                ticket_id=source.id,
                into_ticket_id=target.id,
                contact_id=source.contact_id,
                number=source.number,
                into_number=target.number,
                comments_moved=moved or 0,
                actor_id=caller.user_id,
            ),
            workspace_id=source.workspace_id,
        )
        uow.commit()
        return Shown(target, _tags_of(session, target))


# Lists and counts --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TicketFilter:
    """What a list keeps: each filter narrows it (all of them together); None or empty: not filtered."""

    contact_id: str | None = None
    statuses: tuple[str, ...] = ()
    responsible: str | None = None  # "me", "unassigned" or a member id
    priority: str | None = None
    tag: str | None = None
    number: int | None = None
    q: str | None = None  # text in the subject, case-insensitive
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


def _order_columns(sort: rules.Sort) -> list[Any]:
    if sort.key == "number":
        return [Ticket.number]
    if sort.key == "updated":
        return [Ticket.updated_at, Ticket.id]
    return [Ticket.created_at, Ticket.id]


def _position(sort: rules.Sort, ticket: Ticket) -> list[Any]:
    if sort.key == "number":
        return [ticket.number]
    if sort.key == "updated":
        return [(ticket.updated_at or ticket.created_at).isoformat(), ticket.id]
    if sort.key == "priority":
        return [rules.PRIORITY_RANK.get(ticket.priority, 1), ticket.created_at.isoformat(), ticket.id]
    return [ticket.created_at.isoformat(), ticket.id]


def _read_position(sort: rules.Sort, cursor: str) -> list[Any]:
    values = paging.decode(cursor, scope=sort.scope)
    kinds: dict[str, tuple[type, ...]] = {
        "number": (int,),
        "updated": (datetime, str),
        "created": (datetime, str),
        "priority": (int, datetime, str),
    }
    wanted = kinds[sort.key]
    if len(values) != len(wanted):
        raise paging.invalid_cursor()
    read: list[Any] = []
    for value, kind in zip(values, wanted, strict=True):
        if kind is datetime:
            try:
                read.append(datetime.fromisoformat(value))
            except (TypeError, ValueError):
                raise paging.invalid_cursor() from None
        elif kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise paging.invalid_cursor()
        elif kind is str and not isinstance(value, str):
            raise paging.invalid_cursor()
        else:
            read.append(value)
    return read


def _after(columns: list[Any], values: list[Any], *, descending: bool) -> Any:
    """Rows after ``values`` in the order of ``columns``: (a, b, c) < (x, y, z) spelled out so that both databases
    use the index (its first column bounds the range)."""
    beyond = (lambda col, val: col < val) if descending else (lambda col, val: col > val)
    condition = beyond(columns[-1], values[-1])
    for column, value in zip(reversed(columns[:-1]), reversed(values[:-1]), strict=True):
        condition = or_(beyond(column, value), and_(column == value, condition))
    first_bound = columns[0] <= values[0] if descending else columns[0] >= values[0]
    return and_(first_bound, condition) if len(columns) > 1 else condition


def _filtered(query: Any, caller: Caller, filters: TicketFilter) -> Any:
    if filters.contact_id:
        query = query.where(Ticket.contact_id == filters.contact_id)
    if filters.statuses:
        query = query.where(Ticket.status.in_(filters.statuses))
    if filters.responsible == "me":
        query = query.where(Ticket.responsible_id == caller.user_id)
    elif filters.responsible == "unassigned":
        query = query.where(Ticket.responsible_id.is_(None))
    elif filters.responsible:
        query = query.where(Ticket.responsible_id == filters.responsible)
    if filters.priority:
        query = query.where(Ticket.priority == filters.priority)
    if filters.tag:
        tag = " ".join(filters.tag.split()).lower()
        query = query.where(
            exists().where(
                TicketTag.workspace_id == caller.workspace_id, TicketTag.tag == tag, TicketTag.ticket_id == Ticket.id
            )
        )
    if filters.number is not None:
        query = query.where(Ticket.number == filters.number)
    if filters.q:
        escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Ticket.subject.ilike(f"%{escaped}%", escape="\\"))
    if filters.created_after:
        query = query.where(Ticket.created_at >= filters.created_after)
    if filters.created_before:
        query = query.where(Ticket.created_at < filters.created_before)
    if filters.updated_after:
        query = query.where(Ticket.updated_at >= filters.updated_after)
    if filters.updated_before:
        # A ticket is updated at or after it was created: the same bound on created_at changes no answer and lets
        # the default order's index start there instead of reading every newer ticket first (98 -> 4 ms, bench).
        query = query.where(Ticket.updated_at < filters.updated_before, Ticket.created_at < filters.updated_before)
    return query


def list_tickets(
    uow: UnitOfWork,
    *,
    caller: Caller,
    filters: TicketFilter,
    sort: rules.Sort,
    limit: int,
    cursor: str | None,
) -> paging.Page[Shown]:
    """A page of the tickets the caller may see, filtered and sorted; the cursor carries the order."""
    position = _read_position(sort, cursor) if cursor else None
    base = _filtered(select(Ticket).where(Ticket.workspace_id == caller.workspace_id), caller, filters)
    with uow:
        base = visibility.restrict(base, uow.session, caller, Ticket.contact_id)
        if sort.key == "priority":
            rows = _by_priority(uow.session, base, sort, position, limit + 1)
        else:
            columns = _order_columns(sort)
            query = base
            if position is not None:
                query = query.where(_after(columns, position, descending=sort.descending))
            order = [column.desc() if sort.descending else column.asc() for column in columns]
            rows = list(uow.session.scalars(query.order_by(*order).limit(limit + 1)))
        items = rows[:limit]
        tags = _tags_by_ticket(uow.session, caller.workspace_id, [row.id for row in items])
    next_cursor = paging.encode(*_position(sort, items[-1]), scope=sort.scope) if len(rows) > limit else None
    return paging.Page([Shown(row, tags.get(row.id, [])) for row in items], next_cursor)


def _by_priority(
    session: Session, base: Any, sort: rules.Sort, position: list[Any] | None, wanted: int
) -> list[Ticket]:
    """The priority order as one query per priority, most urgent first (or least): each an index range on
    (workspace, priority, created_at, id), so no sort of the whole workspace's tickets is needed."""
    ranks = sorted(rules.PRIORITY_RANK.items(), key=lambda item: item[1], reverse=sort.descending)
    rows: list[Ticket] = []
    columns = [Ticket.created_at, Ticket.id]
    order = [column.desc() if sort.descending else column.asc() for column in columns]
    for priority, rank in ranks:
        if position is not None:
            if (rank > position[0]) if sort.descending else (rank < position[0]):
                continue  # wholly before the cursor
        query = base.where(Ticket.priority == priority)
        if position is not None and rank == position[0]:
            query = query.where(_after(columns, position[1:], descending=sort.descending))
        rows.extend(session.scalars(query.order_by(*order).limit(wanted - len(rows))))
        if len(rows) >= wanted:
            break
    return rows


def _tags_by_ticket(session: Session, workspace_id: str, ticket_ids: list[str]) -> dict[str, list[str]]:
    if not ticket_ids:
        return {}
    found: dict[str, list[str]] = {}
    for ticket_id, tag in session.execute(
        select(TicketTag.ticket_id, TicketTag.tag)
        .where(TicketTag.workspace_id == workspace_id, TicketTag.ticket_id.in_(ticket_ids))
        .order_by(TicketTag.ticket_id, TicketTag.tag)
    ):
        found.setdefault(ticket_id, []).append(tag)
    return found


def views_bar(uow: UnitOfWork, *, caller: Caller) -> dict[str, Any]:
    """The views bar's counts for the caller: from the counters when it sees every contact of the workspace,
    counted over its own contacts' tickets when it sees only those (an agent of a restricting workspace)."""
    with uow:
        session = uow.session
        if visibility.sees_all(session, caller):
            rows = counts.read(session, caller.workspace_id)
        else:
            query = visibility.restrict(
                select(Ticket.status, Ticket.responsible_id, func.count())
                .where(Ticket.workspace_id == caller.workspace_id)
                .group_by(Ticket.status, Ticket.responsible_id),
                session,
                caller,
                Ticket.contact_id,
            )
            rows = [(status, who, int(n)) for status, who, n in session.execute(query)]
    return rules.views_bar(rows, me=caller.user_id)
