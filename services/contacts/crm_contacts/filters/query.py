"""A contact filter as SQL: the one place lists, bulk actions and exports turn a filter into a query."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from crm_contacts.customfields.models import CustomField
from crm_contacts.filters.rules import ContactFilter, CustomCondition, FilterContext
from crm_contacts.funnel.models import ContactType
from crm_contacts.record import access
from crm_contacts.record.models import Contact, ContactEmail, ContactPhone, ContactTag
from crm_platform.context import Caller
from crm_platform.errors import FieldError, InvalidInput


def context_for(session: Session, caller: Caller, params: Iterable[str] = ("cf.",)) -> FilterContext:
    """What parsing a filter needs from the caller's workspace (custom field kinds only when ``params`` use them)."""
    workspace = access.workspace_of(session, caller)
    kinds: dict[str, str] = {}
    if any(name.startswith("cf.") for name in params):
        kinds = dict(
            session.execute(
                select(CustomField.key, CustomField.kind).where(CustomField.workspace_id == caller.workspace_id)
            ).all()
        )
    return FilterContext(region=workspace.default_region, time_zone=workspace.time_zone or "UTC", custom_fields=kinds)


def conditions(session: Session, caller: Caller, flt: ContactFilter) -> list[ColumnElement[bool]]:
    """WHERE clauses of the filter, without the caller's scope (see ``contacts``)."""
    workspace_id = caller.workspace_id
    where: list[ColumnElement[bool]] = []
    if flt.created_from is not None:
        where.append(Contact.created_at >= flt.created_from)
    if flt.created_before is not None:
        where.append(Contact.created_at < flt.created_before)
    if flt.owners or flt.owner_none:
        owners = [caller.user_id if owner == "me" else owner for owner in flt.owners]
        either: list[ColumnElement[bool]] = [Contact.owner_id.in_(owners)] if owners else []
        if flt.owner_none:
            either.append(Contact.owner_id.is_(None))
        where.append(or_(*either))
    if flt.sources:
        where.append(Contact.source_id.in_(flt.sources))
    if flt.types:
        where.append(Contact.type_id.in_(_type_ids(session, workspace_id, flt.types)))
    if flt.stages:
        where.append(Contact.stage_id.in_(flt.stages))
    if flt.statuses:
        where.append(Contact.status.in_(flt.statuses))
    if flt.stars is not None:
        where.append(Contact.stars == flt.stars)
    if flt.stars_min is not None:
        where.append(Contact.stars >= flt.stars_min)
    for tag in flt.tags:
        where.append(
            exists().where(
                ContactTag.workspace_id == workspace_id, ContactTag.tag == tag, ContactTag.contact_id == Contact.id
            )
        )
    if flt.name_prefix:
        where.append(name_starts_with(flt.name_prefix))
    if flt.email:
        where.append(Contact.id.in_(_with_email(workspace_id, flt.email)))
    if flt.phone:
        where.append(Contact.id.in_(_with_phone(workspace_id, flt.phone)))
    if flt.messenger_handle:
        where.append(_messenger(session, flt.messenger_network, flt.messenger_handle))
    for key, value in flt.location:
        where.append(func.lower(Contact.location[key].as_string()) == value.lower())
    for condition in flt.custom:
        where.append(_custom(session, condition))
    if flt.blocked is not None:
        where.append(Contact.blocked.is_(flt.blocked))
    if flt.q is not None:
        either = [name_starts_with(flt.q.name_prefix)] if flt.q.name_prefix else []
        if flt.q.email:
            either.append(Contact.id.in_(_with_email(workspace_id, flt.q.email)))
        if flt.q.phone:
            either.append(Contact.id.in_(_with_phone(workspace_id, flt.q.phone)))
        where.append(or_(*either) if either else false())
    return where


def contacts(session: Session, caller: Caller, flt: ContactFilter, *columns: Any) -> Select[Any]:
    """The contacts (or ``columns`` of them) the caller may see that the filter chooses."""
    query = select(*columns) if columns else select(Contact)
    return access.scope(query, session, caller).where(*conditions(session, caller, flt))


def name_starts_with(prefix: str) -> ColumnElement[bool]:
    """The name, or one of its words, starts with the (search-key) prefix."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(
        Contact.name_key.like(f"{escaped}%", escape="\\"),
        Contact.name_key.like(f"% {escaped}%", escape="\\"),
    )


def ordered_page(
    query: Select[Any], sort: str, after: tuple[Any, ...] | None, limit: int, *, created_range: bool = False
) -> Select[Any]:
    """Sorted with ties by id, continuing after the cursor's position, ``limit + 1`` rows (the extra one says more).

    Creation order is the id order: ids are UUIDv7, minted when the contact is created, so every
    (workspace_id, <filter>, id) index answers "filter, newest first, 50" by reading 50 entries. Only with a
    created_at range is the order (created_at, id), which the (workspace_id, created_at) index serves; the id
    walk would cross every contact newer than the range first. Either way a cursor walk with the same
    parameters is a total order without repeats or gaps; the cursor carries (created_at, id) for both.
    """
    descending = sort.startswith("-")
    if sort.lstrip("-") == "created_at" and not created_range:
        if after:
            query = query.where(Contact.id < after[1] if descending else Contact.id > after[1])
        return query.order_by(Contact.id.desc() if descending else Contact.id).limit(limit + 1)
    column = sort_column(sort)
    if after:
        position = tuple_(literal(after[0], column.type), literal(after[1], Contact.id.type))
        keys = tuple_(column, Contact.id)
        query = query.where(keys < position if descending else keys > position)
    order = (column.desc(), Contact.id.desc()) if descending else (column, Contact.id)
    return query.order_by(*order).limit(limit + 1)


def sort_column(sort: str) -> Any:
    columns = {
        "created_at": Contact.created_at,
        "name": Contact.name_key,
        "stars": Contact.stars,
        "updated_at": Contact.updated_at,
    }
    return columns[sort.lstrip("-")]


def cursor_values(contact: Contact, sort: str) -> tuple[Any, ...]:
    value = getattr(contact, {"name": "name_key"}.get(sort.lstrip("-"), sort.lstrip("-")))
    return (value.isoformat() if hasattr(value, "isoformat") else value, contact.id)


def _type_ids(session: Session, workspace_id: str, keys_or_ids: tuple[str, ...]) -> list[str]:
    found = session.execute(
        select(ContactType.id, ContactType.key).where(
            ContactType.workspace_id == workspace_id,
            or_(ContactType.key.in_(keys_or_ids), ContactType.id.in_(keys_or_ids)),
        )
    ).all()
    known = {value for row in found for value in row}
    unknown = [t for t in keys_or_ids if t not in known]
    if unknown:
        raise InvalidInput(
            "the contact filter is not valid",
            errors=[FieldError("type", f"unknown contact type {', '.join(unknown)}", "unknown_type")],
        )
    return [row.id for row in found]


def _with_email(workspace_id: str, address: str) -> Select[Any]:
    return select(ContactEmail.contact_id).where(
        ContactEmail.workspace_id == workspace_id, ContactEmail.address == address
    )


def _with_phone(workspace_id: str, number: str) -> Select[Any]:
    return select(ContactPhone.contact_id).where(
        ContactPhone.workspace_id == workspace_id, ContactPhone.number == number
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _messenger(session: Session, network: str | None, handle: str) -> ColumnElement[bool]:
    wanted = handle.lower()
    if network:
        return func.lower(Contact.messengers[network].as_string()) == wanted
    # any network: the handle is one of the values of the JSON object
    each = "json_each_text" if _dialect(session) == "postgresql" else "json_each"
    clause = f"EXISTS (SELECT 1 FROM {each}(contacts.messengers) AS m WHERE lower(m.value) = :messenger_handle)"
    return text(clause).bindparams(bindparam("messenger_handle", wanted))  # type: ignore[return-value]


def _custom(session: Session, condition: CustomCondition) -> ColumnElement[bool]:
    element = Contact.custom_fields[condition.key]
    if condition.kind == "multiselect":
        # the stored value is a list: the condition holds when the given choice is one of them
        key: BindParameter[str] = bindparam(None, condition.key)
        choice: BindParameter[str] = bindparam(None, str(condition.value))
        if _dialect(session) == "postgresql":
            choices = func.json_array_elements_text(Contact.custom_fields.op("->")(key)).table_valued("value")
            is_list = func.json_typeof(Contact.custom_fields.op("->")(key)) == "array"
            return and_(is_list, exists().select_from(choices).where(choices.c.value == choice))
        path = literal("$.") + func.json_quote(key)
        choices = func.json_each(Contact.custom_fields, path).table_valued("value")
        return exists().select_from(choices).where(choices.c.value == choice)
    if condition.kind == "number":
        column: Any = element.as_float()
    elif condition.kind == "boolean":
        column = element.as_boolean()
    else:
        column = element.as_string()
    value = condition.value
    if condition.kind in ("text", "select", "email", "url", "phone") and isinstance(value, str):
        column, value = func.lower(column), value.lower()
    operator = condition.operator
    if operator == "eq":
        return column == value
    comparisons = {"gte": column >= value, "lte": column <= value, "gt": column > value, "lt": column < value}
    return and_(element.as_string().is_not(None), comparisons[operator])
