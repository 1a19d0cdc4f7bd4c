"""Use cases on contacts; each one is one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from crm.events.v1 import contacts_pb2
from crm_contacts.contacts import rules
from crm_contacts.contacts.models import Contact, ContactEmail, ContactPhone
from crm_contacts.workspaces.models import Workspace
from crm_platform.db import UnitOfWork, get_in_workspace
from crm_platform.errors import InvalidInput, Unauthenticated
from crm_platform.ids import is_uuid, new_id

CREATED = "contacts.contact.created"


def create(uow: UnitOfWork, *, workspace_id: str, name: str, email: str | None, phone: str | None) -> Contact:
    """Create a contact with its email lower-cased and its phone in E.164; emits contacts.contact.created."""
    with uow:
        workspace = uow.session.get(Workspace, workspace_id)
        if workspace is None:
            raise Unauthenticated("the token's workspace does not exist")
        clean_name, name_error = rules.clean_name(name)
        clean_email, email_error = rules.normalize_email(email) if email else (None, None)
        clean_phone, phone_error = rules.normalize_phone(phone, workspace.default_region) if phone else (None, None)
        errors = [e for e in (name_error, email_error, phone_error) if e is not None]
        if errors:
            raise InvalidInput("the contact has invalid fields", errors=errors)
        contact = Contact(
            id=new_id(),
            workspace_id=workspace_id,
            name=clean_name,
            name_key=rules.search_key(clean_name or ""),
            email=clean_email,
            phone=clean_phone,
            emails=[],
            phones=[],
            tags=[],
            interests=[],
        )
        if clean_email:
            contact.emails.append(
                ContactEmail(id=new_id(), workspace_id=workspace_id, address=clean_email, is_primary=True, position=0)
            )
        if clean_phone:
            contact.phones.append(
                ContactPhone(id=new_id(), workspace_id=workspace_id, number=clean_phone, is_primary=True, position=0)
            )
        uow.session.add(contact)
        uow.session.flush()
        event = contacts_pb2.ContactCreated(
            contact_id=contact.id, name=contact.name, email=contact.email or "", phone=contact.phone or ""
        )
        event.created_at.FromDatetime(contact.created_at)
        uow.emit(CREATED, event, workspace_id=workspace_id)
        uow.commit()
    return contact


def get(uow: UnitOfWork, *, workspace_id: str, contact_id: str) -> Contact:
    """One contact of the workspace; another workspace's contact is not found."""
    with uow:
        return get_in_workspace(uow.session, Contact, contact_id, workspace_id=workspace_id, what="contact")


def batch_get(uow: UnitOfWork, *, workspace_id: str, contact_ids: Sequence[str]) -> list[Contact]:
    """The workspace's contacts among ``contact_ids``; unknown ids are left out."""
    ids = [i for i in dict.fromkeys(contact_ids) if is_uuid(i)]
    if not ids:
        return []
    with uow:
        query = select(Contact).where(Contact.workspace_id == workspace_id, Contact.id.in_(ids))
        return list(uow.session.scalars(query))


def list_page(
    uow: UnitOfWork, *, workspace_id: str, limit: int, after_id: str | None, email: str | None
) -> list[Contact]:
    """A page of the workspace's contacts, newest first, after the cursor's contact."""
    query = select(Contact).where(Contact.workspace_id == workspace_id)
    if email:
        normalized, error = rules.normalize_email(email)
        if error:
            raise InvalidInput("invalid filter", errors=[error])
        query = query.where(Contact.email == normalized)
    if after_id:
        query = query.where(Contact.id < after_id)
    with uow:
        return list(uow.session.scalars(query.order_by(Contact.id.desc()).limit(limit + 1)))
