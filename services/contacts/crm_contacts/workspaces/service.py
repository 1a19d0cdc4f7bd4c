"""Creating and reading workspaces."""

from __future__ import annotations

import phonenumbers
from sqlalchemy import select

from crm_contacts.workspaces import defaults
from crm_contacts.workspaces.models import Workspace
from crm_platform.db import UnitOfWork
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id


def create(uow: UnitOfWork, *, name: str, default_region: str) -> Workspace:
    """Create a workspace; ``default_region`` reads phone numbers written without a country code."""
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(
            "unknown region", errors=[FieldError("default_region", f"{default_region!r} is not an ISO 3166 region")]
        )
    if not name.strip():
        raise InvalidInput("a workspace needs a name", errors=[FieldError("name", "must not be empty")])
    with uow:
        workspace = Workspace(id=new_id(), name=name.strip(), default_region=region)
        uow.session.add(workspace)
        uow.session.flush()
        defaults.seed(uow.session, workspace.id)
        uow.commit()
    return workspace


def get_by_name(uow: UnitOfWork, *, name: str) -> Workspace | None:
    """The first workspace with this name, if any."""
    with uow:
        return uow.session.scalars(select(Workspace).where(Workspace.name == name).limit(1)).first()
