"""Who may see which contact: admins see all; agents see all or only their own, as the workspace says.

Every feature that takes a contact id (notes, tasks, files, history, ...) goes through ``visible_contact``,
so a contact the caller may not see answers 404 everywhere, exactly like another workspace's contact.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select
from sqlalchemy.orm import Session

from crm_contacts.record.models import Contact
from crm_contacts.record.workspace import Workspace
from crm_platform.context import Caller
from crm_platform.db import get_in_workspace
from crm_platform.errors import NotFound, Unauthenticated, Word
from crm_platform.visibility import may_see


def workspace_of(session: Session, caller: Caller) -> Workspace:
    workspace = session.get(Workspace, caller.workspace_id)
    if workspace is None:
        raise Unauthenticated("the token's workspace does not exist")
    return workspace


def sees_only_own(session: Session, caller: Caller) -> bool:
    return not caller.is_admin and not workspace_of(session, caller).agents_see_all


def visible_contact(session: Session, caller: Caller, contact_id: str) -> Contact:
    """The contact, if the caller may see it; deleted and merged-away contacts are not found."""
    contact = get_in_workspace(session, Contact, contact_id, workspace_id=caller.workspace_id, what="contact")
    if contact.deleted_at is not None or (sees_only_own(session, caller) and contact.owner_id != caller.user_id):
        raise NotFound("{what} {id} not found", params={"what": Word("contact"), "id": contact_id})
    return contact


@dataclass(frozen=True)
class Access:
    owner_id: str | None
    agents_see_all: bool
    visible: bool


def access_of(session: Session, caller: Caller, contact_id: str) -> Access:
    """What other services need to apply the rule to a live contact (GetContactAccess); NotFound otherwise."""
    contact = get_in_workspace(session, Contact, contact_id, workspace_id=caller.workspace_id, what="contact")
    if contact.deleted_at is not None:
        raise NotFound(f"contact {contact_id} not found")
    agents_see_all = workspace_of(session, caller).agents_see_all
    return Access(
        owner_id=contact.owner_id,
        agents_see_all=agents_see_all,
        visible=may_see(caller, agents_see_all=agents_see_all, owner_id=contact.owner_id),
    )


def scope(query: Select, session: Session, caller: Caller) -> Select:
    """Restrict a query over Contact to what the caller may see."""
    query = query.where(Contact.workspace_id == caller.workspace_id, Contact.deleted_at.is_(None))
    if sees_only_own(session, caller):
        query = query.where(Contact.owner_id == caller.user_id)
    return query
