"""Use cases of contact lists and saved filters; each one is one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm_contacts.filters import query as sql
from crm_contacts.filters import rules
from crm_contacts.filters.models import SavedFilter
from crm_contacts.funnel.models import ContactType
from crm_contacts.record import represent
from crm_contacts.record.models import ACTIVE, Contact, ContactEmail, ContactPhone, ContactTag, Interest
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import FieldError, Forbidden, InvalidInput, NotFound
from crm_platform.ids import new_id


@cache
def contact_fields() -> frozenset[str]:
    """The keys of a contact's JSON shape: what ``fields=`` may choose from."""
    now = utcnow()
    blank = Contact(
        id="",
        name="",
        status=ACTIVE,
        stars=0,
        blocked=False,
        version=1,
        created_at=now,
        updated_at=now,
        emails=[],
        phones=[],
        tags=[],
        interests=[],
        messengers={},
        location={},
        custom_fields={},
    )
    return frozenset(represent.as_dict(blank))


def list_page(uow: UnitOfWork, *, caller: Caller, params: Mapping[str, str]) -> dict[str, Any]:
    """A page of the contacts the caller may see that the parameters (or the saved filter they name) choose."""
    with uow:
        session = uow.session
        params = with_saved_filter(session, caller, params)
        context = sql.context_for(session, caller, params)
        request = rules.parse_list_request(params, context, allowed_fields=contact_fields())
        chosen = sql.contacts(session, caller, request.filter, *Contact.__table__.columns, _type_key())
        created_range = request.filter.created_from is not None or request.filter.created_before is not None
        page = sql.ordered_page(chosen, request.sort, request.after, request.limit, created_range=created_range)
        rows = session.execute(page).all()
        next_cursor = None
        if len(rows) > request.limit:
            rows = rows[: request.limit]
            next_cursor = rules.encode_cursor(request.sort, sql.cursor_values(rows[-1], request.sort))
        items = [represent.as_dict(c, c.type_key) for c in _plain_contacts(session, rows)]
    if request.fields is not None:
        items = [{key: item[key] for key in request.fields} for item in items]
    return {"items": items, "next_cursor": next_cursor}


@cache
def _type_key() -> Any:
    """The key of each contact's type, read with the page (one query less than the workspace's types apart)."""
    return select(ContactType.key).where(ContactType.id == Contact.type_id).scalar_subquery().label("type_key")


# A page's emails, phones, tags and interests in one query (PostgreSQL): the ids as one array parameter,
# so the statement's text is the same for every page (prepared by psycopg once) and nothing is rendered per call.
_CHILDREN_SQL = """
SELECT 0 AS kind, contact_id, position AS pos, address AS a, is_primary AS p, status AS s,
       inactive_reason AS r, inactive_since AS t, CAST(NULL AS json) AS j
  FROM contact_emails WHERE contact_id = ANY(%(ids)s)
UNION ALL
SELECT 1, contact_id, position, number, is_primary, label, NULL, NULL, NULL
  FROM contact_phones WHERE contact_id = ANY(%(ids)s)
UNION ALL
SELECT 2, contact_id, 0, tag, NULL, NULL, NULL, NULL, NULL
  FROM contact_tags WHERE contact_id = ANY(%(ids)s)
UNION ALL
SELECT 3, contact_id, 0, id, NULL, text, NULL, created_at, criteria
  FROM contact_interests WHERE contact_id = ANY(%(ids)s)
ORDER BY kind, contact_id, pos, t, a
"""
_KINDS = ("emails", "phones", "tags", "interests")


def _child(kind: int, a: Any, p: Any, s: Any, r: Any, t: Any, j: Any) -> SimpleNamespace:
    """One row of ``_CHILDREN_SQL`` with the attributes ``represent.as_dict`` reads."""
    if kind == 0:
        return SimpleNamespace(address=a, is_primary=p, status=s, inactive_reason=r, inactive_since=t)
    if kind == 1:
        return SimpleNamespace(number=a, is_primary=p, label=s)
    if kind == 2:
        return SimpleNamespace(tag=a)
    return SimpleNamespace(id=a, text=s, criteria=j if j is not None else [])


def _children_of(session: Session, ids: list[str]) -> dict[str, dict[str, list[Any]]]:
    """The contacts' collections by contact id and name: one query on PostgreSQL, one per collection elsewhere."""
    children: dict[str, dict[str, list[Any]]] = {contact_id: {} for contact_id in ids}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection  # this transaction's, on psycopg's cursor
        with driver.cursor() as cursor:
            cursor.execute(_CHILDREN_SQL, {"ids": ids})
            for kind, contact_id, _pos, a, p, s, r, t, j in cursor.fetchall():
                children[contact_id].setdefault(_KINDS[kind], []).append(_child(kind, a, p, s, r, t, j))
        return children
    for name, model, order in (
        ("emails", ContactEmail, ContactEmail.position),
        ("phones", ContactPhone, ContactPhone.position),
        ("tags", ContactTag, ContactTag.tag),
        ("interests", Interest, Interest.created_at),
    ):
        query = select(*model.__table__.columns).where(model.contact_id.in_(ids)).order_by(model.contact_id, order)
        for child in session.execute(query):
            children[child.contact_id].setdefault(name, []).append(child)
    return children


def _plain_contacts(session: Session, rows: Sequence[Any]) -> list[Any]:
    """Rows as objects ``represent.as_dict`` reads like contacts, their collections fetched with one query.

    A page of 50 ORM contacts with four selectin collections cost more than the queries themselves; plain
    rows keep the JSON identical (the same ``as_dict``) at a fraction of the cost.
    """
    if not rows:
        return []
    children = _children_of(session, [row.id for row in rows])
    empty: list[Any] = []
    plain = []
    for row in rows:
        mine = children[row.id]
        plain.append(
            SimpleNamespace(
                **row._asdict(),
                emails=mine.get("emails", empty),
                phones=mine.get("phones", empty),
                tags=mine.get("tags", empty),
                interests=mine.get("interests", empty),
            )
        )
    return plain


def resolve(session: Session, caller: Caller, params: Mapping[str, Any]) -> rules.ContactFilter:
    """The filter that query parameters (with ``filter=<saved id>``) describe, checked against the workspace."""
    params = with_saved_filter(session, caller, params)
    contact_filter = rules.parse_filter(params, sql.context_for(session, caller, params))
    sql.conditions(session, caller, contact_filter)  # unknown types and the like are refused now, not later
    return contact_filter


def with_saved_filter(session: Session, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
    """``filter=<id>`` replaced by the saved filter's parameters; explicit parameters win."""
    merged = {str(k): v for k, v in params.items()}
    saved_id = merged.pop("filter", None)
    if saved_id:
        try:
            saved = _visible(session, caller, str(saved_id))
        except NotFound:
            raise InvalidInput(
                "the saved filter does not exist",
                errors=[FieldError("filter", f"no saved filter {saved_id} you can see", "unknown_filter")],
            ) from None
        merged = {**saved.query, **merged}
    return merged


def type_keys_of(session: Session, workspace_id: str) -> dict[str, str]:
    rows = session.execute(select(ContactType.id, ContactType.key).where(ContactType.workspace_id == workspace_id))
    return {row.id: row.key for row in rows}


# Saved filters


def list_saved(uow: UnitOfWork, *, caller: Caller) -> list[dict[str, Any]]:
    """The caller's own filters and the workspace's shared ones, by name."""
    with uow:
        query = (
            select(SavedFilter)
            .where(
                SavedFilter.workspace_id == caller.workspace_id,
                or_(SavedFilter.owner_id == caller.user_id, SavedFilter.shared.is_(True)),
            )
            .order_by(SavedFilter.name, SavedFilter.id)
        )
        return [as_dict(f) for f in uow.session.scalars(query)]


def get_saved(uow: UnitOfWork, *, caller: Caller, filter_id: str) -> dict[str, Any]:
    """One saved filter, if it is the caller's or shared."""
    with uow:
        return as_dict(_visible(uow.session, caller, filter_id))


def create_saved(
    uow: UnitOfWork, *, caller: Caller, name: str, shared: bool, query: Mapping[str, Any]
) -> dict[str, Any]:
    """Save a filter for the caller, personal or shared with the workspace."""
    with uow:
        stored = rules.query_for_storage(query, sql.context_for(uow.session, caller))
        saved = SavedFilter(
            id=new_id(),
            workspace_id=caller.workspace_id,
            owner_id=caller.user_id,
            name=_clean_name(name),
            shared=shared,
            query=stored,
            created_at=utcnow(),
        )
        uow.session.add(saved)
        uow.commit()
        return as_dict(saved)


def update_saved(
    uow: UnitOfWork,
    *,
    caller: Caller,
    filter_id: str,
    name: str | None = None,
    shared: bool | None = None,
    query: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Rename, share or unshare, or change the query of a filter; only its owner or an admin may."""
    with uow:
        saved = _changeable(uow.session, caller, filter_id)
        if name is not None:
            saved.name = _clean_name(name)
        if shared is not None:
            saved.shared = shared
        if query is not None:
            saved.query = rules.query_for_storage(query, sql.context_for(uow.session, caller))
        uow.commit()
        return as_dict(saved)


def delete_saved(uow: UnitOfWork, *, caller: Caller, filter_id: str) -> None:
    """Delete a filter; only its owner or an admin may."""
    with uow:
        uow.session.delete(_changeable(uow.session, caller, filter_id))
        uow.commit()


def as_dict(saved: SavedFilter) -> dict[str, Any]:
    return {
        "id": saved.id,
        "name": saved.name,
        "shared": saved.shared,
        "owner_id": saved.owner_id,
        "query": dict(saved.query or {}),
        "created_at": saved.created_at.isoformat(),
    }


def _visible(session: Session, caller: Caller, filter_id: str) -> SavedFilter:
    saved = get_in_workspace(session, SavedFilter, filter_id, workspace_id=caller.workspace_id, what="saved filter")
    if not saved.shared and saved.owner_id != caller.user_id:
        raise NotFound(f"saved filter {filter_id} not found")
    return saved


def _changeable(session: Session, caller: Caller, filter_id: str) -> SavedFilter:
    saved = _visible(session, caller, filter_id)
    if saved.owner_id != caller.user_id and not caller.is_admin:
        raise Forbidden("only the filter's owner or an admin may change it")
    return saved


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("a saved filter needs a name", errors=[FieldError("name", "must not be empty", "required")])
    return cleaned
