"""Factories of the contacts service's data, on a service's database: workspaces, members and contacts.

``contact`` creates through the use case (events and history included, as a user's create); ``contact_row``
and ``member`` place rows directly, for tests of another feature that need a contact or member as it may be
found (in a stage, deleted, inactive) without going through the contact API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from crm_contacts.contacts import create
from crm_contacts.members.models import Member
from crm_contacts.record.models import Contact
from crm_contacts.record.rules import search_key
from crm_contacts.record.workspace import Workspace
from crm_contacts.workspaces import service as workspaces
from crm_platform.context import Caller
from crm_platform.db import Database
from crm_platform.ids import new_id


def workspace(database: Database, *, name: str = "Acme", region: str = "ES", **settings: Any) -> str:
    """A new workspace (seeded with its funnel and sources); ``settings`` (e.g. ``agents_see_all=False``) set
    on it directly."""
    workspace_id = workspaces.create(database.unit_of_work(), name=name, default_region=region).id
    if settings:
        set_workspace(database, workspace_id, **settings)
    return workspace_id


def set_workspace(database: Database, workspace_id: str, **settings: Any) -> None:
    with database.unit_of_work() as uow:
        uow.session.execute(update(Workspace).where(Workspace.id == workspace_id).values(**settings))
        uow.commit()


def member(
    database: Database,
    workspace_id: str,
    name: str,
    *,
    role: str = "agent",
    active: bool = True,
    email: str | None = None,
    member_id: str | None = None,
) -> str:
    """A team member row; its email is unique unless given."""
    member_id = member_id or new_id()
    email = email or f"{name.lower().replace(' ', '.')}.{member_id[-8:]}@acme.test"
    with database.unit_of_work() as uow:
        uow.session.add(
            Member(id=member_id, workspace_id=workspace_id, name=name, email=email, role=role, active=active)
        )
        uow.commit()
    return member_id


def contact_row(database: Database, workspace_id: str, *, name: str = "Ana Ruiz", **fields: Any) -> str:
    """A contact row placed directly (no event, no history); ``fields`` are the model's columns."""
    row = Contact(
        id=new_id(),
        workspace_id=workspace_id,
        name=name,
        name_key=search_key(name),
        emails=[],
        phones=[],
        tags=[],
        interests=[],
        **fields,
    )
    with database.unit_of_work() as uow:
        uow.session.add(row)
        uow.commit()
    return row.id


def contact(
    database: Database,
    workspace_id: str,
    *,
    name: str = "Ana López",
    actor: Caller | None = None,
    **values: Any,
) -> str:
    """A contact created as the API creates one (``values``: the record's fields, e.g. email, owner_id)."""
    values = {k: v for k, v in values.items() if v is not None or k not in ("email", "phone")}
    return create.create_record(
        database.unit_of_work(), workspace_id=workspace_id, values={"name": name, **values}, actor=actor
    ).contact.id
