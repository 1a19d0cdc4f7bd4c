"""What the reports know of a workspace: its time zone and business hours (from contacts' settings event and the
reports' own settings), and the names others' events gave its members, stages and sources (chart labels)."""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import JSON, Integer, String, Table, any_, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from crm_platform.db import UnitOfWork, UtcDateTime, utcnow
from crm_reports.models import Base


class ReportWorkspace(Base):
    __tablename__ = "report_workspaces"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The week's opening hours and holidays response and close times may be counted in (None: all hours).
    business_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set when what derivation depends on changed (the time zone, the business hours): a loop rebuilds it.
    rebuild_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # When the settings its time zone came from were changed: an older settings event changes nothing.
    settings_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Label(Base):
    """A name to show for an id another service owns: a member, a stage, a contact type, a source."""

    __tablename__ = "labels"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # member, stage, type, source
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # English, or the only name it has
    name_es: Mapped[str] = mapped_column(String(200), default="")  # Spanish where the owner keeps one (sources)
    position: Mapped[int] = mapped_column(Integer, default=0)  # stages: funnel order within their type
    parent: Mapped[str] = mapped_column(String(64), default="")  # stages: their contact type's key
    # When the event it came from happened: an older event (late, redelivered) never overwrites a newer name.
    as_of: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


@dataclass(frozen=True)
class Context:
    """What deriving a workspace's figures needs to know of it."""

    workspace_id: str
    time_zone: str = "UTC"
    business_hours: dict[str, Any] | None = None

    @property
    def zone(self) -> tzinfo:
        return zoneinfo.ZoneInfo(self.time_zone)


@functools.cache
def _ensure(table: Table, dialect: str) -> Any:
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_of(table).on_conflict_do_nothing()


def lock(uow: UnitOfWork, workspace_id: str) -> Context:
    """The workspace's context, its row locked until the transaction ends: ingest and rebuild of one workspace
    take turns, so a rebuild never misses facts that arrive while it runs (created at UTC the first time)."""
    return lock_many(uow, [workspace_id])[workspace_id]


def lock_many(uow: UnitOfWork, workspace_ids: list[str]) -> dict[str, Context]:
    """``lock`` for several workspaces at once (one statement when each has its row, in id order so workers never
    deadlock)."""
    if not workspace_ids:
        return {}
    ids = sorted(set(workspace_ids))
    if uow.session.get_bind().dialect.name == "postgresql":  # arrays: one statement whatever the count
        rows = list(uow.session.connection().execute(_LOCK, {"ids": ids}))
        if len(rows) < len(ids):  # a workspace heard of for the first time: its row, then all locked again
            uow.session.connection().execute(_ENSURE_ARRAY, {"ids": ids})
            rows = list(uow.session.connection().execute(_LOCK, {"ids": ids}))
    else:
        uow.session.execute(
            _ensure(ReportWorkspace.__table__, uow.session.get_bind().dialect.name),  # type: ignore[arg-type]
            [{"workspace_id": workspace_id, "time_zone": "UTC", "version": 1} for workspace_id in ids],
        )
        rows = uow.session.execute(
            select(ReportWorkspace.workspace_id, ReportWorkspace.time_zone, ReportWorkspace.business_hours)
            .where(ReportWorkspace.workspace_id.in_(ids))
            .order_by(ReportWorkspace.workspace_id)
            .with_for_update()
        )
    return {row.workspace_id: Context(row.workspace_id, row.time_zone, row.business_hours) for row in rows}


_ENSURE_ARRAY = text(
    "INSERT INTO report_workspaces (workspace_id, time_zone, version) "
    "SELECT id, 'UTC', 1 FROM unnest(CAST(:ids AS varchar[])) AS id ON CONFLICT DO NOTHING"
)
_LOCK = (
    select(ReportWorkspace.workspace_id, ReportWorkspace.time_zone, ReportWorkspace.business_hours)
    .where(ReportWorkspace.workspace_id == any_(bindparam("ids", type_=postgresql.ARRAY(String))))
    .order_by(ReportWorkspace.workspace_id)
    .with_for_update()
)


def context(uow: UnitOfWork, workspace_id: str) -> Context:
    """The workspace's context for reading (UTC and all hours for a workspace the reports have not heard of)."""
    row = uow.session.execute(
        select(ReportWorkspace.time_zone, ReportWorkspace.business_hours).where(
            ReportWorkspace.workspace_id == workspace_id
        )
    ).one_or_none()
    return Context(workspace_id) if row is None else Context(workspace_id, row.time_zone, row.business_hours)


def labels(uow: UnitOfWork, workspace_id: str, kind: str, *, language: str = "en") -> dict[str, str]:
    """Names by id of one kind of thing in the workspace (in Spanish where asked and known)."""
    rows = uow.session.execute(
        select(Label.key, Label.name, Label.name_es).where(Label.workspace_id == workspace_id, Label.kind == kind)
    )
    return {key: (name_es if language == "es" and name_es else name) for key, name, name_es in rows}


def request_rebuild(uow: UnitOfWork, workspace_id: str) -> None:
    """Ask for the workspace's figures to be derived again (its context changed), in the open transaction."""
    lock(uow, workspace_id)
    row = uow.session.get(ReportWorkspace, workspace_id)
    assert row is not None
    row.rebuild_requested_at = utcnow()
