"""Lists and counts of tickets: filters, sorts with their cursors, and the views bar."""

from __future__ import annotations

import functools
from collections import namedtuple
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from crm_platform import paging
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork
from crm_tickets.models import visibility
from crm_tickets.sla.models import TicketSla
from crm_tickets.tickets import counts, rules
from crm_tickets.tickets.models import Ticket, TicketTag


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


# A page is one query: the page of tickets (only their columns, as Core rows: building ORM objects for a page
# cost several times its query), then, for those rows only, their SLA row (an outer join on its primary key) and
# their tags (one correlated aggregate each, on the tags' primary key). See bench/tickets_scale.md.
_TICKET_COLUMNS = tuple(Ticket.__table__.c)
_SLA_COLUMNS = (
    "policy_id",
    "first_response_due_at",
    "first_response_met",
    "update_due_at",
    "update_met",
    "solution_due_at",
    "solution_met",
    "first_response_breached_at",
    "update_breached_at",
    "solution_breached_at",
)
SlaRow = namedtuple("SlaRow", _SLA_COLUMNS)  # type: ignore[misc]  # what sla.service.ticket_part reads
_TAG_SEPARATOR = "\n"  # never in a tag: rules.clean_tags collapses every whitespace to one space


@dataclass(frozen=True)
class Listed:
    """A ticket of a list: its row (the ticket's columns), its tags (sorted), its SLA deadlines (None: none)."""

    ticket: Any
    tags: list[str]
    sla: SlaRow | None


def _order_columns(sort: rules.Sort) -> list[Any]:
    if sort.key == "number":
        return [Ticket.number]
    if sort.key == "updated":
        return [Ticket.updated_at, Ticket.id]
    return [Ticket.created_at, Ticket.id]


def _position(sort: rules.Sort, ticket: Any) -> list[Any]:
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


def _by_tag_index(sort: rules.Sort, filters: TicketFilter, *, own_contacts: bool) -> bool:
    """Whether the page is the tag's rows in creation order (a range of its index, stopped after limit + 1) and
    then their tickets: a tag alone in the creation order, for a caller who sees every contact. With any other
    order or filter, each ticket its own index reads is probed for the tag."""
    return sort.key == "created" and not own_contacts and _filter_shape(filters) == _TAG_ALONE


def _clean_tag(tag: str) -> str:
    return " ".join(tag.split()).lower()


@dataclass(frozen=True)
class _Shape:
    """What a page's statement depends on, besides the values of its parameters: which filters it has (and how
    many statuses), its order, whether it continues after a cursor, whether the caller sees only its own
    contacts. Each shape's statement is built and compiled once."""

    filters: tuple[Any, ...]
    sort: rules.Sort
    by_tag: bool
    after: bool  # continues after a position
    own_contacts: bool  # the caller sees only its own contacts
    priority: bool = False  # one priority of the priority order (the parameter ``rank_priority``)


def _filter_shape(filters: TicketFilter) -> tuple[Any, ...]:
    responsible = filters.responsible
    return (
        bool(filters.contact_id),
        len(filters.statuses),
        "unassigned" if responsible == "unassigned" else bool(responsible),
        bool(filters.priority),
        bool(filters.tag),
        filters.number is not None,
        bool(filters.q),
        bool(filters.created_after),
        bool(filters.created_before),
        bool(filters.updated_after),
        bool(filters.updated_before),
    )


_TAG_ALONE = (False, 0, False, False, True, False, False, False, False, False, False)


def _parameters(caller: Caller, filters: TicketFilter) -> dict[str, Any]:
    """The values of the filters' parameters (``_statement`` names them)."""
    values: dict[str, Any] = {"workspace_id": caller.workspace_id, "viewer": caller.user_id}
    values["contact_id"] = filters.contact_id
    values.update((f"status_{n}", status) for n, status in enumerate(filters.statuses))
    values["responsible"] = caller.user_id if filters.responsible == "me" else filters.responsible
    values["priority"] = filters.priority
    values["tag"] = _clean_tag(filters.tag) if filters.tag else None
    values["number"] = filters.number
    if filters.q:
        escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        values["q"] = f"%{escaped}%"
    values["created_after"] = filters.created_after
    values["created_before"] = filters.created_before
    values["updated_after"] = filters.updated_after
    values["updated_before"] = filters.updated_before
    return values


def _filtered(query: Any, shape: _Shape) -> Any:
    (contact, statuses, responsible, priority, tag, number, q, created_after, created_before, updated_after,
     updated_before) = shape.filters  # fmt: skip
    if contact:
        query = query.where(Ticket.contact_id == bindparam("contact_id"))
    if statuses:
        query = query.where(Ticket.status.in_([bindparam(f"status_{n}") for n in range(statuses)]))
    if responsible == "unassigned":
        query = query.where(Ticket.responsible_id.is_(None))
    elif responsible:  # me (the caller) or a member
        query = query.where(Ticket.responsible_id == bindparam("responsible"))
    if priority:
        query = query.where(Ticket.priority == bindparam("priority"))
    if tag:
        query = query.where(
            exists().where(
                TicketTag.workspace_id == bindparam("workspace_id"),
                TicketTag.tag == bindparam("tag"),
                TicketTag.ticket_id == Ticket.id,
            )
        )
    if number:
        query = query.where(Ticket.number == bindparam("number"))
    if q:
        query = query.where(Ticket.subject.ilike(bindparam("q"), escape="\\"))
    if created_after:
        query = query.where(Ticket.created_at >= bindparam("created_after"))
    if created_before:
        query = query.where(Ticket.created_at < bindparam("created_before"))
    if updated_after:
        query = query.where(Ticket.updated_at >= bindparam("updated_after"))
    if updated_before:
        # A ticket is updated at or after it was created: the same bound on created_at changes no answer and lets
        # the default order's index start there instead of reading every newer ticket first (98 -> 4 ms, bench).
        query = query.where(
            Ticket.updated_at < bindparam("updated_before"), Ticket.created_at < bindparam("updated_before")
        )
    return query


@functools.lru_cache(maxsize=512)
def _statement(shape: _Shape, dialect: str) -> tuple[Any, Any]:
    """The page's statement for a shape (its tickets, their SLA rows and tags, in the order), with the type of
    its rows; built once per shape, so that a request only binds values (``Database.read``)."""
    sort = shape.sort
    order_of = (lambda column: column.desc()) if sort.descending else (lambda column: column.asc())
    if shape.by_tag:
        # The tag's rows first, in their own query: the planner then knows it reads limit + 1 of them (joined to
        # tickets with the workspace's condition on both, it expected a tenth of them to match and chose a
        # parallel plan whose workers cost 30 ms to start; bench/tickets_scale.md).
        columns = [TicketTag.created_at, TicketTag.ticket_id]
        tagged = select(TicketTag.ticket_id).where(
            TicketTag.workspace_id == bindparam("workspace_id"), TicketTag.tag == bindparam("tag")
        )
        if shape.after:
            positions: list[Any] = [bindparam(f"after_{n}") for n in range(len(columns))]
            tagged = tagged.where(_after(columns, positions, descending=sort.descending))
        rows = tagged.order_by(*map(order_of, columns)).limit(bindparam("limit")).subquery("tagged")
        page = select(*_TICKET_COLUMNS).join_from(rows, Ticket, Ticket.id == rows.c.ticket_id)
        page = page.where(Ticket.workspace_id == bindparam("workspace_id"))
        columns = [Ticket.created_at, Ticket.id]
    else:
        query = _filtered(select(*_TICKET_COLUMNS).where(Ticket.workspace_id == bindparam("workspace_id")), shape)
        if shape.own_contacts:
            query = visibility.owned_by(
                query, Ticket.contact_id, workspace_id=bindparam("workspace_id"), owner_id=bindparam("viewer")
            )
        if shape.priority:
            query = query.where(Ticket.priority == bindparam("rank_priority"))
            columns = [Ticket.created_at, Ticket.id]
        else:
            columns = _order_columns(sort)
        if shape.after:
            positions = [bindparam(f"after_{n}") for n in range(len(columns))]
            query = query.where(_after(columns, positions, descending=sort.descending))
        page = query.order_by(*map(order_of, columns)).limit(bindparam("limit"))
    statement = _with_details(page, columns, descending=sort.descending, dialect=dialect)
    row = namedtuple("ListedRow", [column.key for column in statement.selected_columns])  # type: ignore[misc]
    return statement, row


def _with_details(page: Any, columns: list[Any], *, descending: bool, dialect: str) -> Any:
    """``page`` (a query of tickets, ordered by ``columns`` and limited) with each row's SLA row and tags, joined
    to the page's rows only, whatever plan reads the page, and in the page's order."""
    rows = page.subquery("page")
    aggregate = func.string_agg if dialect == "postgresql" else func.group_concat
    sla = TicketSla.__table__
    shown_tags = TicketTag.__table__.alias("shown_tags")
    tag_list = (
        select(aggregate(shown_tags.c.tag, bindparam("tag_separator", _TAG_SEPARATOR)))
        .where(shown_tags.c.workspace_id == rows.c.workspace_id, shown_tags.c.ticket_id == rows.c.id)
        .scalar_subquery()
        .label("tag_list")
    )
    order = [rows.c[column.key] for column in columns]
    return (
        select(rows, *(sla.c[name].label(f"sla_{name}") for name in _SLA_COLUMNS), tag_list)
        .select_from(rows.outerjoin(sla, sla.c.ticket_id == rows.c.id))
        .order_by(*(column.desc() if descending else column.asc() for column in order))
    )


def _listed(row: Any) -> Listed:
    tags = sorted(row.tag_list.split(_TAG_SEPARATOR)) if row.tag_list else []
    sla = SlaRow(*(getattr(row, f"sla_{name}") for name in _SLA_COLUMNS)) if row.sla_policy_id is not None else None
    return Listed(row, tags, sla)


def _read(database: Database, shape: _Shape, parameters: dict[str, Any]) -> list[Any]:
    statement, row = _statement(shape, database.engine.dialect.name)
    return [row(*values) for values in database.read(statement, parameters)]


def list_tickets(
    uow: UnitOfWork,
    *,
    caller: Caller,
    filters: TicketFilter,
    sort: rules.Sort,
    limit: int,
    cursor: str | None,
) -> paging.Page[Listed]:
    """A page of the tickets the caller may see, filtered and sorted; the cursor carries the order.

    One statement per page (per priority in the priority order), built once per shape and run outside a
    transaction (``Database.read``: under READ COMMITTED each statement has its own snapshot anyway)."""
    position = _read_position(sort, cursor) if cursor else None
    if caller.is_admin:
        own_contacts = False
    else:
        with uow:
            read_only(uow.session)
            own_contacts = not visibility.sees_all(uow.session, caller)
    parameters = _parameters(caller, filters)
    parameters["limit"] = limit + 1
    by_tag = _by_tag_index(sort, filters, own_contacts=own_contacts)
    shape = _Shape(_filter_shape(filters), sort, by_tag, position is not None, own_contacts)
    database = uow.database
    if sort.key == "priority":
        rows = _by_priority(database, shape, parameters, position, limit + 1)
    else:
        parameters.update((f"after_{n}", value) for n, value in enumerate(position or ()))
        rows = _read(database, shape, parameters)
    items = rows[:limit]
    next_cursor = paging.encode(*_position(sort, items[-1]), scope=sort.scope) if len(rows) > limit else None
    return paging.Page([_listed(row) for row in items], next_cursor)


def read_only(session: Session) -> None:
    """For a use case that only reads: its statements run outside a transaction, saving the BEGIN and ROLLBACK
    round trips around them. Under READ COMMITTED (the default) each statement of a transaction takes its own
    snapshot anyway, so each sees what it saw inside one. Never for writes."""
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _by_priority(
    database: Database, shape: _Shape, parameters: dict[str, Any], position: list[Any] | None, wanted: int
) -> list[Any]:
    """The priority order as one query per priority, most urgent first (or least): each an index range on
    (workspace, priority, created_at, id), so no sort of the whole workspace's tickets is needed."""
    sort = shape.sort
    ranks = sorted(rules.PRIORITY_RANK.items(), key=lambda item: item[1], reverse=sort.descending)
    rows: list[Any] = []
    for priority, rank in ranks:
        if position is not None:
            if (rank > position[0]) if sort.descending else (rank < position[0]):
                continue  # wholly before the cursor
        after = position is not None and rank == position[0]
        values = {**parameters, "rank_priority": priority, "limit": wanted - len(rows)}
        if after:
            values.update((f"after_{n}", value) for n, value in enumerate(position[1:]))  # type: ignore[index]
        rows.extend(_read(database, replace(shape, after=after, priority=True), values))
        if len(rows) >= wanted:
            break
    return rows


def views_bar(uow: UnitOfWork, *, caller: Caller) -> dict[str, Any]:
    """The views bar's counts for the caller: from the counters when it sees every contact of the workspace,
    counted over its own contacts' tickets when it sees only those (an agent of a restricting workspace)."""
    if caller.is_admin:
        return rules.views_bar(counts.read(uow.database, caller.workspace_id), me=caller.user_id)
    with uow:
        session = uow.session
        read_only(session)
        if visibility.sees_all(session, caller):
            rows = counts.read(uow.database, caller.workspace_id)
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
