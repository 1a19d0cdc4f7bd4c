"""The contact's events: each one is emitted with its history entry through ``announce``, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from google.protobuf.message import Message

from crm.events.v1 import contacts_pb2
from crm_contacts.record import history, represent
from crm_contacts.record.drafts import AnyContact, written_at
from crm_events import EventType
from crm_events.contacts import (
    CONTACT_CREATED,
    CONTACT_OWNER_CHANGED,
    CONTACT_STAGE_CHANGED,
    CONTACT_STATUS_CHANGED,
    CONTACT_UPDATED,
    EMAIL_DEACTIVATED,
    EMAIL_REACTIVATED,
)
from crm_platform.db import UnitOfWork

P = TypeVar("P", bound=Message)

# Changes that have an entry of their own, so an update's ``updated`` entry leaves them out.
_OWN_ENTRIES = ("stage_id", "owner_id")


def announce(
    uow: UnitOfWork,
    contact: AnyContact,
    event_type: EventType[P],
    payload: P,
    *,
    kind: str | None,
    actor_id: str | None,
    data: dict[str, Any] | None = None,
) -> None:
    """Emit an event about the contact and write the matching entry in its history, in the same transaction.

    ``kind`` None: the event has no entry of its own (another entry of the same change tells it).
    """
    uow.emit(event_type, payload, workspace_id=contact.workspace_id)
    if kind is not None:
        history.write(
            uow,
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            kind=kind,
            actor_id=actor_id,
            data=data,
        )


def announce_created(
    uow: UnitOfWork, contact: AnyContact, *, type_key: str | None, actor_id: str | None, via: str | None = None
) -> None:
    """Emit contacts.contact.created with the contact's snapshot and write ``created`` in its history."""
    event = contacts_pb2.ContactCreated(
        contact_id=contact.id,
        name=contact.name,
        email=contact.email or "",
        phone=contact.phone or "",
        contact=represent.snapshot(contact, type_key),
    )
    event.created_at.FromDatetime(written_at(contact.created_at))
    data: dict[str, Any] = {"name": contact.name, "source_id": contact.source_id}
    if via is not None:
        data["via"] = via
    announce(uow, contact, CONTACT_CREATED, event, kind="created", actor_id=actor_id, data=data)


def announce_updated(
    uow: UnitOfWork,
    contact: AnyContact,
    changed: Sequence[str],
    *,
    type_key: str | None,
    actor_id: str,
    with_entry: bool = True,
) -> None:
    """Emit contacts.contact.updated with the changed fields and write ``updated`` {fields} in the history.

    The entry leaves out the stage and owner (each has its own entry) and is not written when nothing else
    changed, or when ``with_entry`` is False (a merge writes ``merged`` instead).
    """
    plain = [name for name in changed if name not in _OWN_ENTRIES]
    announce(
        uow,
        contact,
        CONTACT_UPDATED,
        contacts_pb2.ContactUpdated(
            contact_id=contact.id,
            changed_fields=list(changed),
            contact=represent.snapshot(contact, type_key),
            actor_id=actor_id,
        ),
        kind="updated" if plain and with_entry else None,
        actor_id=actor_id,
        data={"fields": plain},
    )


def stage_changed(
    contact: AnyContact, change: tuple[str | None, str | None], *, type_key: str | None, actor_id: str | None
) -> contacts_pb2.ContactStageChanged:
    """The payload of contacts.contact.stage_changed, whoever moves the contact: the move, and the contact's owner,
    source and status at it (so reports count the move per owner and source without a lookup)."""
    from_stage, to_stage = change
    return contacts_pb2.ContactStageChanged(
        contact_id=contact.id,
        from_stage_id=from_stage or "",
        to_stage_id=to_stage or "",
        contact_type=type_key or "",
        actor_id=actor_id or "",
        owner_id=contact.owner_id or "",
        source_id=contact.source_id or "",
        status=contact.status,
    )


def record_stage_change(
    uow: UnitOfWork,
    contact: AnyContact,
    change: tuple[str | None, str | None],
    *,
    type_key: str | None,
    actor_id: str | None,
) -> None:
    """Emit contacts.contact.stage_changed and write ``stage_changed`` {from, to} in the contact's history."""
    from_stage, to_stage = change
    announce(
        uow,
        contact,
        CONTACT_STAGE_CHANGED,
        stage_changed(contact, change, type_key=type_key, actor_id=actor_id),
        kind="stage_changed",
        actor_id=actor_id,
        data={"from": from_stage, "to": to_stage, "type": type_key},
    )


def owner_changed(
    contact: AnyContact, change: tuple[str | None, str | None], *, actor_id: str | None
) -> contacts_pb2.ContactOwnerChanged:
    """The payload of contacts.contact.owner_changed, whoever gives the contact another owner."""
    from_owner, to_owner = change
    return contacts_pb2.ContactOwnerChanged(
        contact_id=contact.id, from_owner_id=from_owner or "", to_owner_id=to_owner or "", actor_id=actor_id or ""
    )


def record_owner_change(
    uow: UnitOfWork, contact: AnyContact, change: tuple[str | None, str | None], *, actor_id: str | None
) -> None:
    """Emit contacts.contact.owner_changed and write ``owner_changed`` {from, to} in the contact's history."""
    from_owner, to_owner = change
    announce(
        uow,
        contact,
        CONTACT_OWNER_CHANGED,
        owner_changed(contact, change, actor_id=actor_id),
        kind="owner_changed",
        actor_id=actor_id,
        data={"from": from_owner, "to": to_owner},
    )


def status_changed(
    contact: AnyContact, change: tuple[str, str], *, type_key: str | None, actor_id: str | None
) -> contacts_pb2.ContactStatusChanged:
    """The payload of contacts.contact.status_changed, whoever wins, loses or reopens the contact: the change, and
    the contact's owner, source, stage and type at it (reports: won per owner and source, conversion per stage)."""
    from_status, to_status = change
    return contacts_pb2.ContactStatusChanged(
        contact_id=contact.id,
        from_status=from_status,
        to_status=to_status,
        campaign_eligible=represent.campaign_eligible(contact),
        actor_id=actor_id or "",
        owner_id=contact.owner_id or "",
        source_id=contact.source_id or "",
        stage_id=contact.stage_id or "",
        contact_type=type_key or "",
    )


def record_status_change(
    uow: UnitOfWork,
    contact: AnyContact,
    change: tuple[str, str],
    *,
    type_key: str | None,
    actor_id: str | None,
    reason: str | None = None,
) -> None:
    """Emit contacts.contact.status_changed and write ``status_changed`` {from, to, reason} in the history."""
    from_status, to_status = change
    announce(
        uow,
        contact,
        CONTACT_STATUS_CHANGED,
        status_changed(contact, change, type_key=type_key, actor_id=actor_id),
        kind="status_changed",
        actor_id=actor_id,
        data={"from": from_status, "to": to_status, "reason": reason},
    )


def record_email_status(
    uow: UnitOfWork, contact: AnyContact, address: str, *, active: bool, actor_id: str | None, data: dict[str, Any]
) -> None:
    """Emit contacts.email.deactivated or reactivated and write ``email_deactivated``/``email_reactivated``."""
    reason = "" if active else str(data.get("reason") or "")
    announce(
        uow,
        contact,
        EMAIL_REACTIVATED if active else EMAIL_DEACTIVATED,
        contacts_pb2.EmailStatusChanged(
            contact_id=contact.id,
            address=address,
            status="active" if active else "inactive",
            reason=reason,
            actor_id=actor_id or "",
        ),
        kind="email_reactivated" if active else "email_deactivated",
        actor_id=actor_id,
        data=data,
    )
