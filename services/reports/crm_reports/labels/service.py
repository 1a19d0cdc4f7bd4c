"""Keeping the names and the time zone contacts' events carry; the newest event wins, whatever order they arrive in."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from crm_platform.db import UnitOfWork
from crm_reports import workspaces
from crm_reports.labels.rules import STAGE, TYPE, LabelRow, Stage
from crm_reports.workspaces import Label, ReportWorkspace


def _values(workspace_id: str, row: LabelRow, as_of: datetime) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "kind": row.kind,
        "key": row.key,
        "name": row.name[:200],
        "name_es": row.name_es[:200],
        "position": row.position,
        "parent": row.parent,
        "as_of": as_of,
    }


@functools.cache
def _upsert(table: Table, dialect: str) -> Any:
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_of(table)
    return statement.on_conflict_do_update(
        index_elements=["workspace_id", "kind", "key"],
        set_={name: statement.excluded[name] for name in ("name", "name_es", "position", "parent", "as_of")},
        where=or_(table.c.as_of.is_(None), table.c.as_of <= statement.excluded.as_of),
    )


def upsert(uow: UnitOfWork, *, workspace_id: str, row: LabelRow, as_of: datetime) -> None:
    """Keep one name, unless a newer event already named it."""
    statement = _upsert(Label.__table__, uow.session.get_bind().dialect.name)  # type: ignore[arg-type]
    uow.session.execute(statement, [_values(workspace_id, row, as_of)])


def replace(
    uow: UnitOfWork, *, workspace_id: str, kinds: Sequence[str], rows: Sequence[LabelRow], as_of: datetime
) -> bool:
    """Make these kinds' names exactly ``rows`` (an event that lists them whole), unless a newer event did;
    returns whether it did."""
    workspaces.lock(uow, workspace_id)  # two lists of one workspace take turns
    newest = uow.session.execute(
        select(func.max(Label.as_of)).where(Label.workspace_id == workspace_id, Label.kind.in_(list(kinds)))
    ).scalar()
    if newest is not None and as_of < newest:
        return False
    uow.session.execute(delete(Label).where(Label.workspace_id == workspace_id, Label.kind.in_(list(kinds))))
    unique = {(row.kind, row.key): row for row in rows}
    if unique:
        uow.insert(Label, [_values(workspace_id, row, as_of) for row in unique.values()])
    return True


def set_time_zone(uow: UnitOfWork, *, workspace_id: str, time_zone: str, as_of: datetime) -> bool:
    """Bucket the workspace's days in ``time_zone`` from now on, unless newer settings said otherwise; a change
    asks for its figures to be derived again (days already rolled up were another zone's). Returns whether the
    zone changed."""
    workspaces.lock(uow, workspace_id)
    row = uow.session.get(ReportWorkspace, workspace_id)
    assert row is not None  # lock created it
    if row.settings_as_of is not None and as_of < row.settings_as_of:
        return False
    row.settings_as_of = as_of
    if row.time_zone == time_zone:
        return False
    row.time_zone = time_zone
    workspaces.request_rebuild(uow, workspace_id)
    return True


def funnel_order(uow: UnitOfWork, workspace_id: str) -> list[Stage]:
    """The workspace's stages in funnel order (types by position, then stages by position)."""
    rows = uow.session.execute(
        select(Label.kind, Label.key, Label.name, Label.position, Label.parent).where(
            Label.workspace_id == workspace_id, Label.kind.in_([TYPE, STAGE])
        )
    ).all()
    types = {row.key: (row.name, row.position) for row in rows if row.kind == TYPE}
    stages = [
        Stage(row.key, row.name, row.position, row.parent, *types.get(row.parent, (row.parent, len(types))))
        for row in rows
        if row.kind == STAGE
    ]
    return sorted(stages, key=lambda stage: (stage.type_position, stage.type_key, stage.position, stage.key))


def names(uow: UnitOfWork, workspace_id: str, kind: str) -> dict[str, tuple[str, str]]:
    """(English, Spanish) names by key of one kind (the Spanish one empty where the owner keeps none)."""
    rows = uow.session.execute(
        select(Label.key, Label.name, Label.name_es).where(Label.workspace_id == workspace_id, Label.kind == kind)
    )
    return {key: (name, name_es) for key, name, name_es in rows}
