"""What contacts' events do to conversations: the search copy of the contact follows its updates, a merge
re-points the merged contacts' conversations to the survivor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from crm.events.v1 import contacts_pb2
from crm_conversations.conversations import rules
from crm_conversations.conversations.models import Conversation
from crm_events import contacts
from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.events import Event


def contact_copy(snapshot: contacts_pb2.ContactSnapshot) -> dict[str, Any]:
    """The columns a conversation keeps of its contact, from contacts' snapshot."""
    primary = next(
        (e.address for e in snapshot.emails if e.primary), snapshot.emails[0].address if snapshot.emails else ""
    )
    return {
        "contact_name": snapshot.name or None,
        "contact_name_key": rules.fold(snapshot.name) if snapshot.name else None,
        "contact_email": primary.lower() or None,
        "contact_phone": snapshot.phones[0] if snapshot.phones else None,
    }


def on_contact_updated(_rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.ContactUpdated]) -> None:
    updated = event.payload
    if not updated.HasField("contact"):
        return
    uow.session.execute(
        update(Conversation)
        .where(Conversation.workspace_id == event.workspace_id, Conversation.contact_id == updated.contact_id)
        .values(**contact_copy(updated.contact))
        .execution_options(synchronize_session=False)
    )


def on_contacts_merged(_rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.ContactsMerged]) -> None:
    """The merged contacts' conversations now belong to the survivor, with the survivor's search copy when one
    of its conversations has it."""
    merged = event.payload
    survivor = uow.session.execute(
        select(
            Conversation.contact_name,
            Conversation.contact_name_key,
            Conversation.contact_email,
            Conversation.contact_phone,
        )
        .where(Conversation.workspace_id == event.workspace_id, Conversation.contact_id == merged.survivor_id)
        .limit(1)
    ).first()
    values: dict[str, Any] = {"contact_id": merged.survivor_id}
    if survivor is not None:
        values.update(survivor._asdict())
    uow.session.execute(
        update(Conversation)
        .where(Conversation.workspace_id == event.workspace_id, Conversation.contact_id.in_(list(merged.merged_ids)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def subscribe(subscriptions: Subscriptions) -> None:
    """Register these handlers; the merge one runs after the visibility copy's own (one handler per type)."""
    subscriptions.on(contacts.CONTACT_UPDATED)(on_contact_updated)
    before = subscriptions.handlers.get(contacts.CONTACT_MERGED.name)

    def merged(rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.ContactsMerged]) -> None:
        if before is not None:
            before.handler(rt, uow, event)
        on_contacts_merged(rt, uow, event)

    subscriptions.on(contacts.CONTACT_MERGED)(merged)
