"""Duplicate contacts: the refusal when duplicates are off, and the likely duplicates of a contact.

The check is two index lookups (``contact_emails`` and ``contact_phones`` by workspace and value). On
PostgreSQL each value is first locked with a transaction-scoped advisory lock, so two transactions writing
the same phone at once are serialised and the second one sees the first; SQLite serialises writers anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select, text, update
from sqlalchemy.orm import Session

from crm_contacts.contacts import rules
from crm_contacts.contacts.models import Contact, ContactEmail, ContactPhone
from crm_contacts.members.models import Member
from crm_contacts.workspaces.models import Workspace
from crm_platform.errors import Conflict, FieldError

LIKELY_DUPLICATES_LIMIT = 50
_LABELS = {"email": "Email", "phone": "Phone"}


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
    responsible = duplicate.owner_name or "nobody"
    return Conflict(
        f"{_LABELS[duplicate.field]} in use by: {duplicate.name}; Responsible: {responsible}",
        errors=[FieldError(duplicate.field, f"{duplicate.value} is used by another contact", "duplicate")],
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
    for key in sorted({lock_key(workspace_id, value) for value in values}):  # one order: no deadlocks
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def find_duplicate(
    session: Session,
    workspace_id: str,
    *,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    exclude_contact_ids: Sequence[str] = (),
) -> Duplicate | None:
    """The first other live contact using one of these emails or phones, emails first."""
    lookups = (
        ("email", ContactEmail, ContactEmail.address, list(dict.fromkeys(emails))),
        ("phone", ContactPhone, ContactPhone.number, list(dict.fromkeys(phones))),
    )
    for field, model, column, values in lookups:
        if not values:
            continue
        query = (
            select(column, Contact.id, Contact.name, Contact.owner_id)
            .join(Contact, Contact.id == model.contact_id)
            .where(model.workspace_id == workspace_id, column.in_(values), Contact.deleted_at.is_(None))
            .order_by(Contact.id)
            .limit(1)
        )
        if exclude_contact_ids:
            query = query.where(model.contact_id.not_in(list(exclude_contact_ids)))
        row = session.execute(query).first()
        if row is not None:
            value, contact_id, name, owner_id = row
            return Duplicate(contact_id, name, owner_id, _member_name(session, workspace_id, owner_id), field, value)
    return None


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
