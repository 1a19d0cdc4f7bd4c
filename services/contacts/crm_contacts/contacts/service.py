"""Changing a contact: its fields, its status (won, lost, reopened), blocking, deleting.

Each use case is one transaction that writes its events with their history entries (``record.events``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from crm.events.v1 import contacts_pb2
from crm_contacts.contacts import duplicates, fields
from crm_contacts.contacts.reads import Record, type_key
from crm_contacts.record import access, events, rules
from crm_contacts.record.workspace import Workspace
from crm_events.contacts import CONTACT_BLOCKED, CONTACT_DELETED, CONTACT_UNBLOCKED
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import Conflict, Forbidden, Unauthenticated
from crm_platform.versioning import check_version


def _workspace(session: Session, workspace_id: str) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise Unauthenticated("the token's workspace does not exist")
    return workspace


def update(
    uow: UnitOfWork, *, caller: Caller, contact_id: str, values: Mapping[str, Any], if_match: str | None = None
) -> Record:
    """Change some fields of a contact the caller sees; emits updated, and stage/owner changed with history."""
    with uow:
        session = uow.session
        workspace = _workspace(session, caller.workspace_id)
        contact = access.visible_contact(session, caller, contact_id)
        check_version(contact.version, if_match, what="contact")
        applied = fields.apply(session, workspace, contact, values, creating=False)
        if not applied.changed:
            return Record(contact, applied.type_key)
        if not workspace.allow_duplicates:
            duplicates.refuse_duplicates(
                session,
                workspace.id,
                emails=applied.added_emails,
                phones=applied.added_phones,
                exclude_contact_ids=[contact.id],
            )
        contact.version += 1
        session.flush()
        events.announce_updated(uow, contact, applied.changed, type_key=applied.type_key, actor_id=caller.user_id)
        if applied.stage is not None:
            events.record_stage_change(uow, contact, applied.stage, type_key=applied.type_key, actor_id=caller.user_id)
        if applied.owner is not None:
            events.record_owner_change(uow, contact, applied.owner, actor_id=caller.user_id)
        uow.commit()
    return Record(contact, applied.type_key)


def set_status(uow: UnitOfWork, *, caller: Caller, contact_id: str, status: str, reason: str | None = None) -> Record:
    """Win, lose or reopen a contact; emits contacts.contact.status_changed and writes the history."""
    with uow:
        session = uow.session
        contact = access.visible_contact(session, caller, contact_id)
        refusal = rules.status_change_error(contact.status, status)
        if refusal:
            raise Conflict(refusal, extra={"current_status": contact.status})
        previous = contact.status
        contact.status = status
        contact.version += 1
        record = Record(contact, type_key(session, contact.type_id))
        events.record_status_change(
            uow, contact, (previous, status), type_key=record.type_key, actor_id=caller.user_id, reason=reason
        )
        uow.commit()
    return record


def set_blocked(uow: UnitOfWork, *, caller: Caller, contact_id: str, blocked: bool) -> Record:
    """Block (mail and chats are no longer received) or unblock a contact; emits blocked/unblocked."""
    with uow:
        session = uow.session
        contact = access.visible_contact(session, caller, contact_id)
        if contact.blocked == blocked:
            raise Conflict(f"the contact is already {'blocked' if blocked else 'unblocked'}")
        contact.blocked = blocked
        contact.blocked_at = utcnow() if blocked else None
        contact.version += 1
        events.announce(
            uow,
            contact,
            CONTACT_BLOCKED if blocked else CONTACT_UNBLOCKED,
            contacts_pb2.ContactBlockChanged(
                contact_id=contact.id,
                blocked=blocked,
                emails=[e.address for e in contact.emails],
                actor_id=caller.user_id,
            ),
            kind="blocked" if blocked else "unblocked",
            actor_id=caller.user_id,
        )
        record = Record(contact, type_key(session, contact.type_id))
        uow.commit()
    return record


def delete(uow: UnitOfWork, *, caller: Caller, contact_id: str) -> None:
    """Soft-delete a contact (admins, or its owner); it frees its emails and phones; emits contacts.contact.deleted."""
    with uow:
        session = uow.session
        contact = access.visible_contact(session, caller, contact_id)
        if not caller.is_admin and contact.owner_id != caller.user_id:
            raise Forbidden("only admins may delete contacts they do not own")
        contact.deleted_at = utcnow()
        contact.deleted_by = rules.member_column(caller.user_id)
        contact.version += 1
        events.announce(
            uow,
            contact,
            CONTACT_DELETED,
            contacts_pb2.ContactDeleted(contact_id=contact.id, actor_id=caller.user_id),
            kind="deleted",
            actor_id=caller.user_id,
            data={"name": contact.name},
        )
        uow.commit()
