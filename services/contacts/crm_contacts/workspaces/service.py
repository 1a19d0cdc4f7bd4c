"""Creating workspaces and reading and changing their settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from crm.events.v1 import contacts_pb2
from crm_contacts.funnel import defaults as funnel_defaults
from crm_contacts.funnel.service import announce_funnel
from crm_contacts.members import service as members
from crm_contacts.members.models import Member
from crm_contacts.record.workspace import Workspace
from crm_contacts.sources import defaults as source_defaults
from crm_contacts.sources.service import announce_sources
from crm_contacts.workspaces import rules
from crm_events.contacts import WORKSPACE_SETTINGS_CHANGED
from crm_platform.db import UnitOfWork
from crm_platform.errors import InvalidInput, NotFound, Word
from crm_platform.ids import new_id


def create(uow: UnitOfWork, *, name: str, default_region: str) -> Workspace:
    """Create a workspace; ``default_region`` reads phone numbers written without a country code."""
    workspace, _ = _create(uow, name=name, default_region=default_region, admin=None)
    return workspace


def create_with_admin(
    uow: UnitOfWork, *, name: str, default_region: str, admin_name: str, admin_email: str
) -> tuple[Workspace, Member]:
    """Create a workspace and its first admin member in one transaction."""
    workspace, admin = _create(uow, name=name, default_region=default_region, admin=(admin_name, admin_email))
    assert admin is not None
    return workspace, admin


def _create(
    uow: UnitOfWork, *, name: str, default_region: str, admin: tuple[str, str] | None
) -> tuple[Workspace, Member | None]:
    clean_name, name_error = rules.check_name(name)
    region, region_error = rules.check_region(default_region)
    errors = [e for e in (name_error, region_error) if e is not None]
    if errors:
        raise InvalidInput("the workspace has invalid fields", errors=errors)
    with uow:
        workspace = Workspace(id=new_id(), name=clean_name, default_region=region)
        uow.session.add(workspace)
        uow.session.flush()
        # what consumers learn of a new workspace: its settings (its time zone), default funnel and sources
        announce_settings(uow, workspace, changed=rules.SETTINGS, actor_id=None)
        funnel_defaults.seed(uow.session, workspace.id)
        announce_funnel(uow, workspace.id, actor_id=None)
        source_defaults.seed(uow.session, workspace.id)
        announce_sources(uow, workspace.id, actor_id=None)
        member = None
        if admin is not None:
            member = members.add(uow, workspace_id=workspace.id, name=admin[0], email=admin[1], role="admin")
        uow.commit()
    return workspace, member


def get_by_name(uow: UnitOfWork, *, name: str) -> Workspace | None:
    """The first workspace with this name, if any."""
    with uow:
        return uow.session.scalars(select(Workspace).where(Workspace.name == name).limit(1)).first()


def get(uow: UnitOfWork, *, workspace_id: str) -> Workspace:
    """The caller's workspace."""
    with uow:
        workspace = uow.session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFound("{what} {id} not found", params={"what": Word("workspace"), "id": workspace_id})
        return workspace


def update_settings(
    uow: UnitOfWork, *, workspace_id: str, changes: dict[str, Any], actor_id: str | None = None
) -> Workspace:
    """Change some settings of the workspace; every invalid field is reported at once; emits
    contacts.workspace.settings_changed (other services apply "agents see all contacts" themselves)."""
    cleaned, errors = rules.clean_settings(changes)
    if errors:
        raise InvalidInput("the settings have invalid fields", errors=errors)
    with uow:
        workspace = uow.session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFound("{what} {id} not found", params={"what": Word("workspace"), "id": workspace_id})
        changed = sorted(key for key, value in cleaned.items() if getattr(workspace, key) != value)
        for key, value in cleaned.items():
            setattr(workspace, key, value)
        if changed:
            announce_settings(uow, workspace, changed=changed, actor_id=actor_id)
        uow.commit()
        return workspace


def announce_settings(uow: UnitOfWork, workspace: Workspace, *, changed: Sequence[str], actor_id: str | None) -> None:
    """Emit contacts.workspace.settings_changed: the settings that changed, and the current values others
    keep (visibility, time zone, name, languages) whatever changed; at creation every setting is "changed"."""
    uow.emit(
        WORKSPACE_SETTINGS_CHANGED,
        contacts_pb2.WorkspaceSettingsChanged(
            changed_fields=sorted(changed),
            agents_see_all=workspace.agents_see_all,
            actor_id=actor_id or "",
            time_zone=workspace.time_zone,
            name=workspace.name,
            languages=list(workspace.languages or []),
        ),
        workspace_id=workspace.id,
    )


def exists(uow: UnitOfWork, *, workspace_id: str) -> bool:
    """Whether the workspace exists (every request checks it, cached, before it is served)."""
    with uow:
        return uow.session.get(Workspace, workspace_id) is not None
