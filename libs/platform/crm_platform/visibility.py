"""Agents' contact visibility outside contacts: a local copy of contact ownership and of the workspace setting.

A service that shows something about a contact (a ticket, a conversation, a mail) keeps who owns each
contact and whether the workspace lets agents see all contacts, fed from the contacts service's events
and refreshed by its own write paths' gRPC answer. Reads filter in SQL against that copy, so a list page
is one query (full pages, right cursors) and never one call per item; a hidden row answers 404.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Index,
    MetaData,
    Select,
    String,
    Table,
    and_,
    exists,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import QueryableAttribute, Session

from crm.events.v1 import contacts_pb2
from crm_events import contacts
from crm_platform import migrations, upserts
from crm_platform.consumer import Subscriptions
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, UtcDateTime
from crm_platform.errors import NotFound
from crm_platform.events import Event

# What contacts assumes for a workspace that never changed the setting (Workspace.agents_see_all's default).
DEFAULT_AGENTS_SEE_ALL = True

Q = TypeVar("Q", bound=Select[Any])
BRANCH = "visibility"


def may_see(caller: Caller, *, agents_see_all: bool, owner_id: str | None) -> bool:
    """The contacts service's rule: admins see every contact; agents all of them or, as the workspace says,
    only those they own (an unowned contact is nobody's)."""
    return caller.is_admin or agents_see_all or (owner_id is not None and owner_id == caller.user_id)


class ContactVisibility:
    """The copy's two tables in one service's metadata, the filter reads apply, and the events that feed it."""

    def __init__(self, metadata: MetaData) -> None:
        # Created by the shared ``visibility`` migration branch, which the service now runs (crm_platform.migrations).
        migrations.opt_in(metadata, BRANCH)
        self.contacts = Table(
            "visibility_contacts",
            metadata,
            Column("workspace_id", String(36), primary_key=True),
            Column("contact_id", String(36), primary_key=True),
            Column("owner_id", String(100)),
            Column("deleted", Boolean, nullable=False, default=False),
            # A merged-away contact follows its survivor: its rows here are not re-pointed.
            Column("merged_into", String(36)),
            # When the fact was true at contacts: an older fact arriving late does not overwrite a newer one
            # (of two facts of the same instant, the one applied last wins).
            Column("changed_at", UtcDateTime(), nullable=False),
            Index("ix_visibility_contacts_workspace_id_owner_id", "workspace_id", "owner_id"),
            Index("ix_visibility_contacts_workspace_id_merged_into", "workspace_id", "merged_into"),
        )
        self.workspaces = Table(
            "visibility_workspaces",
            metadata,
            Column("workspace_id", String(36), primary_key=True),
            Column("agents_see_all", Boolean, nullable=False),
            Column("changed_at", UtcDateTime(), nullable=False),
        )

    # reading ------------------------------------------------------------------------------------
    def sees_all(self, session: Session, caller: Caller) -> bool:
        """Whether the caller sees every contact of its workspace (no filter needed)."""
        if caller.is_admin:
            return True
        setting = session.scalar(
            select(self.workspaces.c.agents_see_all).where(self.workspaces.c.workspace_id == caller.workspace_id)
        )
        return DEFAULT_AGENTS_SEE_ALL if setting is None else bool(setting)

    def restrict(
        self, query: Q, session: Session, caller: Caller, contact_id: ColumnElement[Any] | QueryableAttribute[Any]
    ) -> Q:
        """``query`` left with the rows whose contact the caller may see; in SQL, so a page is still full."""
        if self.sees_all(session, caller):
            return query
        return self.owned_by(query, contact_id, workspace_id=caller.workspace_id, owner_id=caller.user_id)

    def owned_by(
        self, query: Q, contact_id: ColumnElement[Any] | QueryableAttribute[Any], *, workspace_id: Any, owner_id: Any
    ) -> Q:
        """``query`` left with the rows whose contact is a live one of ``owner_id`` (``restrict`` for a caller who
        sees only its own contacts); the ids are values or bind parameters (a statement built once)."""
        known = self.contacts.c
        return query.where(
            exists().where(
                known.workspace_id == workspace_id,
                known.contact_id == contact_id,
                known.owner_id == owner_id,
                known.deleted.is_(False),
            )
        )

    def require(self, session: Session, caller: Caller, contact_id: str | None, *, not_found: str) -> None:
        """Raise NotFound(``not_found``) unless the caller may see the contact; an unknown contact is hidden."""
        if self.sees_all(session, caller):
            return
        known = self.contacts.c
        row = (
            session.execute(
                select(known.owner_id, known.deleted).where(
                    known.workspace_id == caller.workspace_id, known.contact_id == contact_id
                )
            ).first()
            if contact_id
            else None
        )
        if row is None or row.deleted or not may_see(caller, agents_see_all=False, owner_id=row.owner_id):
            raise NotFound(not_found)

    # recording ----------------------------------------------------------------------------------
    def record_owner(
        self, session: Session, *, workspace_id: str, contact_id: str, owner_id: str | None, as_of: datetime
    ) -> None:
        """A live contact's owner, as contacts told it at ``as_of``."""
        self._save_if_newer(
            session,
            self.contacts,
            {"workspace_id": workspace_id, "contact_id": contact_id},
            {"owner_id": owner_id or None, "deleted": False, "merged_into": None},
            as_of,
        )

    def record_setting(self, session: Session, *, workspace_id: str, agents_see_all: bool, as_of: datetime) -> None:
        """The workspace's "agents see all contacts" setting, as contacts told it at ``as_of``."""
        self._save_if_newer(
            session, self.workspaces, {"workspace_id": workspace_id}, {"agents_see_all": agents_see_all}, as_of
        )

    def _save_if_newer(
        self, session: Session, table: Table, key: dict[str, str], values: dict[str, Any], as_of: datetime
    ) -> None:
        matches = and_(*(table.c[name] == value for name, value in key.items()))
        updated = session.execute(
            update(table).where(matches, table.c.changed_at <= as_of).values(**values, changed_at=as_of)
        )
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            session.execute(
                upserts.insert(session, table).values(**key, **values, changed_at=as_of).on_conflict_do_nothing()
            )

    def _follow(self, session: Session, workspace_id: str, contact_ids: list[str], values: dict[str, Any]) -> None:
        """Apply a change of contacts to the contacts merged into them as well."""
        known = self.contacts.c
        session.execute(
            update(self.contacts)
            .where(known.workspace_id == workspace_id, known.merged_into.in_(contact_ids))
            .values(**values)
        )

    # the events that feed the copy ----------------------------------------------------------------
    def subscribe(self, subscriptions: Subscriptions) -> None:
        """Register the handlers of the contacts events that keep the copy."""
        subscriptions.on(contacts.CONTACT_CREATED, batch=self._on_created_many)(self._on_created)
        subscriptions.on(contacts.CONTACT_OWNER_CHANGED)(self._on_owner_changed)
        subscriptions.on(contacts.CONTACT_DELETED)(self._on_deleted)
        subscriptions.on(contacts.CONTACT_MERGED)(self._on_merged)
        subscriptions.on(contacts.WORKSPACE_SETTINGS_CHANGED)(self._on_settings_changed)

    def _on_created(self, _rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.ContactCreated]) -> None:
        created = event.payload
        self.record_owner(
            uow.session,
            workspace_id=event.workspace_id,
            contact_id=created.contact_id,
            owner_id=created.contact.owner_id,
            as_of=event.occurred_at,
        )

    def _on_created_many(self, _rt: Any, uow: UnitOfWork, batch: Sequence[Event[contacts_pb2.ContactCreated]]) -> None:
        """``_on_created`` for a run of creations: one upsert that keeps, per contact, the newest fact (of
        two of the same instant the later one, as applying them in turn would)."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for event in batch:
            key = (event.workspace_id, event.payload.contact_id)
            if key not in rows or rows[key]["changed_at"] <= event.occurred_at:
                rows[key] = {
                    "workspace_id": key[0],
                    "contact_id": key[1],
                    "owner_id": event.payload.contact.owner_id or None,
                    "deleted": False,
                    "merged_into": None,
                    "changed_at": event.occurred_at,
                }
        dialect = uow.session.get_bind().dialect.name
        uow.session.execute(self._upsert_if_newer(dialect), list(rows.values()))

    @functools.cache  # noqa: B019 - one statement per dialect, for the life of the copy
    def _upsert_if_newer(self, dialect: str) -> Any:
        insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert_of(self.contacts)
        new = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=[self.contacts.c.workspace_id, self.contacts.c.contact_id],
            set_={"owner_id": new.owner_id, "deleted": new.deleted, "merged_into": None, "changed_at": new.changed_at},
            where=self.contacts.c.changed_at <= new.changed_at,
        )

    def _on_owner_changed(self, _rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.ContactOwnerChanged]) -> None:
        changed = event.payload
        owner = changed.to_owner_id or None
        key = {"workspace_id": event.workspace_id, "contact_id": changed.contact_id}
        self._save_if_newer(uow.session, self.contacts, key, {"owner_id": owner}, event.occurred_at)
        self._follow(uow.session, event.workspace_id, [changed.contact_id], {"owner_id": owner})

    def _on_deleted(self, _rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.ContactDeleted]) -> None:
        deleted = event.payload
        key = {"workspace_id": event.workspace_id, "contact_id": deleted.contact_id}
        self._save_if_newer(uow.session, self.contacts, key, {"deleted": True}, event.occurred_at)
        self._follow(uow.session, event.workspace_id, [deleted.contact_id], {"deleted": True})

    def _on_merged(self, _rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.ContactsMerged]) -> None:
        merged = event.payload
        known = self.contacts.c
        survivor = uow.session.execute(
            select(known.owner_id, known.deleted).where(
                known.workspace_id == event.workspace_id, known.contact_id == merged.survivor_id
            )
        ).first()
        follows = {
            "owner_id": survivor.owner_id if survivor else None,
            "deleted": bool(survivor.deleted) if survivor else False,
            "merged_into": merged.survivor_id,
        }
        for merged_id in merged.merged_ids:
            key = {"workspace_id": event.workspace_id, "contact_id": merged_id}
            self._save_if_newer(uow.session, self.contacts, key, follows, event.occurred_at)
        self._follow(uow.session, event.workspace_id, list(merged.merged_ids), follows)

    def _on_settings_changed(
        self, _rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.WorkspaceSettingsChanged]
    ) -> None:
        changed = event.payload
        self.record_setting(
            uow.session,
            workspace_id=event.workspace_id,
            agents_see_all=changed.agents_see_all,
            as_of=event.occurred_at,
        )
