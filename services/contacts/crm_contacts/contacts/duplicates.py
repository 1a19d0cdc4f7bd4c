"""Duplicate contacts: the refusal when duplicates are off, and the likely duplicates of a contact.

The check is two index lookups (``contact_emails`` and ``contact_phones`` by workspace and value), sent as
one query. On PostgreSQL each value is first locked with a transaction-scoped advisory lock (all of them in
one statement, before the lookup), so two transactions writing the same phone at once are serialised and the
second one sees the first; SQLite serialises writers anyway.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, literal_column, or_, select, text, union_all, update
from sqlalchemy.orm import Session

from crm_contacts.members.models import Member
from crm_contacts.record import rules
from crm_contacts.record.models import Contact, ContactEmail, ContactPhone
from crm_contacts.record.workspace import Workspace
from crm_platform.errors import Conflict, FieldError, Word, msgid, phrase

LIKELY_DUPLICATES_LIMIT = 50
_LOCK_ALL = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")
_IN_USE = {
    "email": msgid("Email in use by: {names}; Responsible: {owner}"),
    "phone": msgid("Phone in use by: {names}; Responsible: {owner}"),
}


@dataclass(frozen=True)
class Duplicate:
    """Another contact already using ``value`` (an email or phone) and who is responsible for it."""

    contact_id: str
    name: str
    owner_id: str | None
    owner_name: str | None
    field: str  # "email" or "phone"
    value: str


def problem(duplicate: Duplicate) -> Conflict:
    """The 409 naming the other contact and its owner: ``Phone in use by: Ana Ruiz; Responsible: Luis``."""
    return Conflict(
        _IN_USE[duplicate.field],
        params={"names": duplicate.name, "owner": duplicate.owner_name or Word("nobody")},
        errors=[
            FieldError(
                duplicate.field, phrase("{value} is used by another contact", value=duplicate.value), "duplicate"
            )
        ],
        extra={
            "duplicate": {
                "contact_id": duplicate.contact_id,
                "name": duplicate.name,
                "owner_id": duplicate.owner_id,
                "owner_name": duplicate.owner_name,
                "field": duplicate.field,
                "value": duplicate.value,
            }
        },
    )


def lock_key(workspace_id: str, value: str) -> int:
    """A signed 64-bit advisory lock key for one email or phone of a workspace."""
    digest = hashlib.blake2b(f"{workspace_id}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_values(session: Session, workspace_id: str, values: Iterable[str]) -> None:
    """Serialise writers of the same emails/phones until the end of the transaction.

    PostgreSQL: one advisory lock per value. SQLite has one writer at a time, but reads before the first
    write run outside the write lock, so a no-op write to the workspace takes that lock before the check.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Workspace).where(Workspace.id == workspace_id).values(name=Workspace.name))
        return
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({lock_key(workspace_id, value) for value in values})  # one order for everyone: no deadlocks
    if keys:
        # One round trip for all the locks: unnest() scans the array in order, so they are taken in the
        # sorted order above, one after the other, exactly like one statement per key did.
        session.execute(_LOCK_ALL, {"keys": keys})


# The create's lock and lookup on psycopg's cursor (``send_lookup``): one text for every shape, the values as
# arrays, so nothing is rendered per call and psycopg prepares each statement once per connection.
_LOCK_SQL = "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(%(keys)s AS bigint[])) AS k"
_LOOKUP_SQL = """
SELECT field, value, contact_id, name, owner_id FROM (
    SELECT 0 AS rank, 'email' AS field, e.address AS value, c.id AS contact_id, c.name AS name, c.owner_id AS owner_id
      FROM contact_emails e JOIN contacts c ON c.id = e.contact_id
     WHERE e.workspace_id = %(workspace_id)s AND e.address = ANY(CAST(%(emails)s AS varchar[]))
       AND c.deleted_at IS NULL AND e.contact_id <> ALL(CAST(%(exclude)s AS varchar[]))
    UNION ALL
    SELECT 1, 'phone', p.number, c.id, c.name, c.owner_id
      FROM contact_phones p JOIN contacts c ON c.id = p.contact_id
     WHERE p.workspace_id = %(workspace_id)s AND p.number = ANY(CAST(%(phones)s AS varchar[]))
       AND c.deleted_at IS NULL AND p.contact_id <> ALL(CAST(%(exclude)s AS varchar[]))
) AS found
ORDER BY rank, contact_id
LIMIT 1
"""


def send_lock(cursor: Any, workspace_id: str, values: Iterable[str]) -> None:
    """``lock_values`` on psycopg's cursor of the transaction (PostgreSQL; in a pipeline, sent with the rest)."""
    keys = sorted({lock_key(workspace_id, value) for value in values})  # the same order as lock_values
    if keys:
        cursor.execute(_LOCK_SQL, {"keys": keys})


def send_lookup(
    cursor: Any, workspace_id: str, *, emails: Sequence[str], phones: Sequence[str], exclude_contact_ids: Sequence[str]
) -> None:
    """``find_duplicate``'s query on psycopg's cursor; its row is read with ``lookup_result`` (after the
    pipeline it may be sent in, so the locks, the writes and the lookup cost one round trip)."""
    cursor.execute(
        _LOOKUP_SQL,
        {
            "workspace_id": workspace_id,
            "emails": list(dict.fromkeys(emails)),
            "phones": list(dict.fromkeys(phones)),
            "exclude": list(exclude_contact_ids),
        },
    )


def lookup_result(session: Session, workspace_id: str, cursor: Any) -> Duplicate | None:
    """The duplicate ``send_lookup`` found, named as ``find_duplicate`` names it."""
    row = cursor.fetchone()
    if row is None:
        return None
    field, value, contact_id, name, owner_id = row
    return Duplicate(contact_id, name, owner_id, _member_name(session, workspace_id, owner_id), field, value)


def find_duplicate(
    session: Session,
    workspace_id: str,
    *,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    exclude_contact_ids: Sequence[str] = (),
) -> Duplicate | None:
    """The first other live contact using one of these emails or phones, emails first."""
    emails, phones = list(dict.fromkeys(emails)), list(dict.fromkeys(phones))
    if not emails and not phones:
        return None
    query = _find_duplicate_query(bool(emails), bool(phones), bool(exclude_contact_ids))
    row = session.execute(
        query, {"emails": emails, "phones": phones, "exclude": list(exclude_contact_ids), "workspace_id": workspace_id}
    ).first()
    if row is None:
        return None
    field, value, contact_id, name, owner_id = row
    return Duplicate(contact_id, name, owner_id, _member_name(session, workspace_id, owner_id), field, value)


@functools.cache
def _find_duplicate_query(emails: bool, phones: bool, exclude: bool, first: bool = True) -> Any:
    """One query for both kinds (UNION ALL), emails first, then by contact id: the answer of the two lookups
    one after the other, in one round trip. Built once per shape: building it costs more than running it."""
    lookups: list[Any] = []
    kinds: tuple[tuple[bool, str, Any, Any, str], ...] = (
        (emails, "email", ContactEmail, ContactEmail.address, "emails"),
        (phones, "phone", ContactPhone, ContactPhone.number, "phones"),
    )
    for rank, (wanted, field, model, column, values) in enumerate(kinds):
        if not wanted:
            continue
        query: Any = (
            select(
                literal_column(str(rank)).label("rank"),  # constants of this code, not input
                literal_column(f"'{field}'").label("field"),
                column.label("value"),
                Contact.id.label("contact_id"),
                Contact.name.label("name"),
                Contact.owner_id.label("owner_id"),
            )
            .join(Contact, Contact.id == model.contact_id)
            .where(
                model.workspace_id == bindparam("workspace_id"),
                column.in_(bindparam(values, expanding=True)),
                Contact.deleted_at.is_(None),
            )
        )
        if exclude:
            query = query.where(model.contact_id.not_in(bindparam("exclude", expanding=True)))
        lookups.append(query)
    found = union_all(*lookups).subquery() if len(lookups) > 1 else lookups[0].subquery()
    return (
        select(found.c.field, found.c.value, found.c.contact_id, found.c.name, found.c.owner_id)
        .order_by(found.c.rank, found.c.contact_id)
        .limit(1 if first else None)
    )


def find_duplicates(
    session: Session, workspace_id: str, *, emails: Sequence[str] = (), phones: Sequence[str] = ()
) -> dict[str, Duplicate]:
    """For each of these emails and phones that a live contact uses, the contact ``find_duplicate`` names
    for it (the same lookup, for many values in one query)."""
    emails, phones = list(dict.fromkeys(emails)), list(dict.fromkeys(phones))
    if not emails and not phones:
        return {}
    query = _find_duplicate_query(bool(emails), bool(phones), False, first=False)
    rows = session.execute(query, {"emails": emails, "phones": phones, "exclude": [], "workspace_id": workspace_id})
    found: dict[str, Duplicate] = {}
    names: dict[str | None, str | None] = {}
    for field, value, contact_id, name, owner_id in rows:
        if value not in found:
            if owner_id not in names:
                names[owner_id] = _member_name(session, workspace_id, owner_id)
            found[value] = Duplicate(contact_id, name, owner_id, names[owner_id], field, value)
    return found


def row_error(duplicate: Duplicate) -> FieldError:
    """The duplicate as a field error of one row of a batch (an import), with the 409's words."""
    return FieldError(duplicate.field, f"{duplicate.value}: {problem(duplicate).detail}", "duplicate")


def refuse_duplicates(
    session: Session,
    workspace_id: str,
    *,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    exclude_contact_ids: Sequence[str] = (),
) -> None:
    """Lock the values, then raise the 409 problem if another live contact uses any of them."""
    if not emails and not phones:
        return
    lock_values(session, workspace_id, [*emails, *phones])
    found = find_duplicate(session, workspace_id, emails=emails, phones=phones, exclude_contact_ids=exclude_contact_ids)
    if found is not None:
        raise problem(found)


def _member_name(session: Session, workspace_id: str, member_id: str | None) -> str | None:
    if not member_id:
        return None
    member = session.get(Member, member_id)
    return member.name if member is not None and member.workspace_id == workspace_id else None


def likely_duplicates(
    session: Session, contact: Contact, *, scope: Callable[[Select], Select]
) -> list[tuple[Contact, list[str]]]:
    """Other live contacts sharing an email or phone, or with a similar name, each with its reasons.

    A similar name is the same search key (case and accents aside), or the same first and last word.
    ``scope`` restricts a ``select(Contact)`` to what the caller may see (see ``access.scope``).
    """
    reasons: dict[str, list[str]] = {}
    emails = [e.address for e in contact.emails]
    phones = [p.number for p in contact.phones]
    by_value = (
        ("email", ContactEmail, ContactEmail.address, emails),
        ("phone", ContactPhone, ContactPhone.number, phones),
    )
    for reason, model, column, values in by_value:
        if not values:
            continue
        ids = session.scalars(
            select(model.contact_id)
            .where(model.workspace_id == contact.workspace_id, column.in_(values), model.contact_id != contact.id)
            .limit(LIKELY_DUPLICATES_LIMIT)
        )
        for contact_id in ids:
            reasons.setdefault(contact_id, [])
            if reason not in reasons[contact_id]:
                reasons[contact_id].append(reason)
    similar = [Contact.name_key == contact.name_key] if contact.name_key else []
    tokens = rules.name_tokens(contact.name_key)
    if tokens:
        first, last = (_escape_like(t) for t in tokens)
        similar.append(
            and_(Contact.name_key.like(f"{first} %", escape="\\"), Contact.name_key.like(f"% {last}", escape="\\"))
        )
    if similar:
        ids = session.scalars(
            select(Contact.id)
            .where(
                Contact.workspace_id == contact.workspace_id,
                Contact.deleted_at.is_(None),
                Contact.id != contact.id,
                or_(*similar),
            )
            .limit(LIKELY_DUPLICATES_LIMIT)
        )
        for contact_id in ids:
            reasons.setdefault(contact_id, []).append("name")
    if not reasons:
        return []
    query = scope(select(Contact).where(Contact.id.in_(list(reasons))))
    found = session.scalars(query.order_by(Contact.id).limit(LIKELY_DUPLICATES_LIMIT))
    return [(other, reasons[other.id]) for other in found]


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
