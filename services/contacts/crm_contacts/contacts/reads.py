"""Reading contacts: one for the API or for another service, several by id or by email, likely duplicates."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from crm_contacts.contacts import duplicates
from crm_contacts.funnel.models import ContactType
from crm_contacts.record import access, represent, rules
from crm_contacts.record.drafts import AnyContact
from crm_contacts.record.models import Contact, ContactEmail, ContactPhone, ContactTag, Interest
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork, get_in_workspace
from crm_platform.errors import NotFound
from crm_platform.ids import is_uuid


class Record(NamedTuple):
    """A contact with its type key, read inside the transaction or just written (what the API shows)."""

    contact: AnyContact
    type_key: str | None


def type_key(session: Session, type_id: str | None) -> str | None:
    contact_type = session.get(ContactType, type_id) if type_id else None
    return contact_type.key if contact_type is not None else None


def get(uow: UnitOfWork, *, workspace_id: str, contact_id: str) -> Contact:
    """One live contact of the workspace (service-to-service reads: no per-member visibility)."""
    with uow:
        contact = get_in_workspace(uow.session, Contact, contact_id, workspace_id=workspace_id, what="contact")
        if contact.deleted_at is not None:
            raise NotFound(f"contact {contact_id} not found")
        return contact


@functools.cache
def _contact_query() -> Any:
    """A contact with its emails, phones and type in one query, and whether it has tags and interests.

    Emails and phones are joined (one row per email and phone pair: a contact has one or two of each, rarely
    more), instead of the relationships' "selectin" loads, which cost a round trip each. Built once.
    """
    return (
        select(
            Contact,
            ContactType,
            exists().where(ContactTag.contact_id == Contact.id).label("has_tags"),
            exists().where(Interest.contact_id == Contact.id).label("has_interests"),
        )
        .outerjoin(ContactType, ContactType.id == Contact.type_id)
        .where(Contact.id == bindparam("contact_id"))
        .options(
            joinedload(Contact.emails),
            joinedload(Contact.phones),
            lazyload(Contact.tags),
            lazyload(Contact.interests),
        )
    )


def _preload(session: Session, contact_id: str) -> Any:
    """Read a contact into the session in one query, so that ``session.get`` (``access.visible_contact``, ...)
    and ``_type_key`` then find it and its type there, without a query each. The caller keeps what this
    returns until then: the session's identity map only holds weak references.

    Its tags and interests are loaded too, each only if it has some (the usual contact has none). The
    visibility rules are not here: the caller applies them to what ``session.get`` returns.
    """
    if not is_uuid(contact_id):
        return None
    row = session.execute(_contact_query(), {"contact_id": contact_id}).unique().first()
    if row is None:
        return row
    contact, _type, has_tags, has_interests = row
    for name, present in (("tags", has_tags), ("interests", has_interests)):
        if present:
            getattr(contact, name)  # loads it now, while the session is open
        else:
            set_committed_value(contact, name, [])
    return row


def _read_only(session: Session) -> None:
    """For a use case that only reads: run its statements outside a transaction, saving the BEGIN and
    ROLLBACK round trips around them. Under READ COMMITTED (the default) every statement of a transaction
    takes its own snapshot anyway, so each statement sees exactly what it saw inside one. Never for writes."""
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@functools.cache
def _summary_query() -> Any:
    """A live contact of a workspace with its type key, emails and phones: only the columns of a summary.

    Core, not the ORM: other services' reads are the service's hottest path, and building ORM objects costs
    several times the query. One row per email and phone pair (a contact has one or two of each, rarely
    more), in the order the relationships use. Built once.
    """
    contact, kind, email, phone = (model.__table__ for model in (Contact, ContactType, ContactEmail, ContactPhone))
    return (
        select(
            contact.c.name,
            contact.c.stage_id,
            contact.c.status,
            contact.c.owner_id,
            contact.c.blocked,
            contact.c.language,
            contact.c.created_at,
            kind.c.key,
            contact.c.source_id,
            email.c.id,
            email.c.address,
            email.c.is_primary,
            email.c.status,
            email.c.inactive_reason,
            phone.c.id,
            phone.c.number,
            phone.c.is_primary,
        )
        .select_from(
            contact.outerjoin(kind, kind.c.id == contact.c.type_id)
            .outerjoin(email, email.c.contact_id == contact.c.id)
            .outerjoin(phone, phone.c.contact_id == contact.c.id)
        )
        .where(
            contact.c.id == bindparam("contact_id"),
            contact.c.workspace_id == bindparam("workspace_id"),
            contact.c.deleted_at.is_(None),
        )
        .order_by(email.c.position, phone.c.position)
    )


def get_summary(database: Database, *, workspace_id: str, contact_id: str) -> represent.Summary:
    """One live contact of the workspace as other services see it (no per-member visibility): another
    workspace's, a deleted or an unknown contact is not found. One query, outside a transaction."""
    rows = (
        database.read(_summary_query(), {"contact_id": contact_id, "workspace_id": workspace_id})
        if is_uuid(contact_id)
        else None
    )
    if not rows:
        raise NotFound(f"contact {contact_id} not found")
    emails: dict[str, represent.EmailSummary] = {}
    phones: dict[str, represent.PhoneSummary] = {}
    for *_contact, email_id, address, email_primary, email_status, reason, phone_id, number, phone_primary in rows:
        if email_id is not None and email_id not in emails:
            emails[email_id] = represent.EmailSummary(address, email_primary, email_status, reason)
        if phone_id is not None and phone_id not in phones:
            phones[phone_id] = represent.PhoneSummary(number, phone_primary)
    name, stage_id, status, owner_id, blocked, language, created_at, type_key, source_id = rows[0][:9]
    return represent.Summary(
        id=contact_id,
        workspace_id=workspace_id,
        name=name,
        type_key=type_key,
        stage_id=stage_id,
        status=status,
        owner_id=owner_id,
        blocked=blocked,
        language=language,
        created_at=created_at,
        deleted_at=None,
        emails=list(emails.values()),
        phones=list(phones.values()),
        source_id=source_id,
    )


def read(uow: UnitOfWork, *, caller: Caller, contact_id: str) -> Record:
    """One contact the caller may see, with its type key."""
    with uow:
        _read_only(uow.session)
        _loaded = _preload(uow.session, contact_id)  # held for session.get below
        contact = access.visible_contact(uow.session, caller, contact_id)
        return Record(contact, type_key(uow.session, contact.type_id))


def with_type_keys(session: Session, query: Any) -> list[Record]:
    rows = session.execute(query.add_columns(ContactType.key).outerjoin(ContactType, ContactType.id == Contact.type_id))
    return [Record(contact, key) for contact, key in rows]


def batch_get(uow: UnitOfWork, *, workspace_id: str, contact_ids: Sequence[str]) -> list[Record]:
    """The workspace's live contacts among ``contact_ids``; unknown and deleted ids are left out."""
    ids = [i for i in dict.fromkeys(contact_ids) if is_uuid(i)]
    if not ids:
        return []
    with uow:
        query = select(Contact).where(
            Contact.workspace_id == workspace_id, Contact.id.in_(ids), Contact.deleted_at.is_(None)
        )
        return with_type_keys(uow.session, query)


def lookup_address(raw: str) -> str:
    address, error = rules.normalize_email(raw)
    return address if error is None and address else raw.strip().lower()


def contacts_with_email(session: Session, workspace_id: str, address: str) -> Any:
    return (
        select(Contact)
        .join(ContactEmail, ContactEmail.contact_id == Contact.id)
        .where(ContactEmail.workspace_id == workspace_id, ContactEmail.address == address, Contact.deleted_at.is_(None))
        .order_by(Contact.id)
    )


def find_by_email(uow: UnitOfWork, *, workspace_id: str, address: str) -> list[Record]:
    """Live contacts having this address among any of their emails, oldest first."""
    with uow:
        return with_type_keys(uow.session, contacts_with_email(uow.session, workspace_id, lookup_address(address)))


def likely_duplicates(uow: UnitOfWork, *, caller: Caller, contact_id: str) -> list[tuple[Record, list[str]]]:
    """Other contacts the caller sees that share an email or phone, or have a similar name, with the reasons."""
    with uow:
        session = uow.session
        contact = access.visible_contact(session, caller, contact_id)
        found = duplicates.likely_duplicates(session, contact, scope=lambda q: access.scope(q, session, caller))
        keys = {
            t.id: t.key
            for t in session.scalars(select(ContactType).where(ContactType.workspace_id == contact.workspace_id))
        }
        return [(Record(other, keys.get(other.type_id or "")), reasons) for other, reasons in found]
