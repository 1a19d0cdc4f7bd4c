"""Daily rollups per workspace, metric, member and dimension: what keeps a range query fast.

A projection turns a subject's facts into *contributions* (``Contribution``: one count, maybe with a duration,
at a moment, for a member and a dimension such as a priority or a stage). The rollup table holds their sums per
day. When a subject's facts change, the engine applies the difference between its contributions before and
after, so the rollups always equal the sum over every subject's contributions: what ``crm reports rebuild``
recomputes from the facts.

Days are the workspace's own (its time zone, from contacts' settings event, daylight-saving changes included),
so a week or a month is an exact sum of days. When a workspace changes its time zone its rollups are rebuilt
from the facts (``rebuild``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import BigInteger, Date, Float, String, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from crm_platform.db import UnitOfWork
from crm_reports.models import Base


class Rollup(Base):
    __tablename__ = "rollups"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    metric: Mapped[str] = mapped_column(String(48), primary_key=True)
    day: Mapped[date] = mapped_column(Date(), primary_key=True)  # in the workspace's time zone
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True, default="")
    dimension: Mapped[str] = mapped_column(String(80), primary_key=True, default="")
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


@dataclass(frozen=True)
class Contribution:
    """One thing a subject adds to a metric: ``count`` of it at ``at`` (e.g. one conversation closed), and the
    ``seconds`` it took where the metric is a duration (summed, for averages)."""

    metric: str
    at: datetime
    member_id: str = ""
    dimension: str = ""
    count: int = 1
    seconds: float = 0.0


Key = tuple[str, date, str, str]  # metric, day, member, dimension


def accumulate(into: dict[Key, list[Any]], contributions: Iterable[Contribution], zone: tzinfo) -> None:
    """Add contributions to ``into`` (``[count, seconds]`` per rollup row), each on its day in ``zone``."""
    last_at: datetime | None = None
    day = date.min
    for item in contributions:
        if item.at is not last_at:  # a fact's contributions share its moment: converted once
            last_at = item.at
            day = last_at.astimezone(zone).date()
        key = (item.metric, day, item.member_id, item.dimension)
        found = into.get(key)
        if found is None:
            into[key] = [item.count, item.seconds]
        else:
            found[0] += item.count
            found[1] += item.seconds


def totals(contributions: Iterable[Contribution], zone: tzinfo) -> dict[Key, tuple[int, float]]:
    """Contributions summed per rollup row, each on its day in ``zone``."""
    summed: dict[Key, list[Any]] = {}
    accumulate(summed, contributions, zone)
    return {key: (count, seconds) for key, (count, seconds) in summed.items()}


def difference(
    before: Mapping[Key, tuple[int, float]], after: Mapping[Key, tuple[int, float]]
) -> dict[Key, tuple[int, float]]:
    """What to add to the rollups so that ``before`` becomes ``after`` (rows that do not change left out)."""
    changed = {}
    for key in before.keys() | after.keys():
        count_before, seconds_before = before.get(key, (0, 0.0))
        count_after, seconds_after = after.get(key, (0, 0.0))
        delta = (count_after - count_before, seconds_after - seconds_before)
        if delta[0] != 0 or abs(delta[1]) > 1e-9:
            changed[key] = delta
    return changed


@functools.cache
def _add(table: Table, dialect: str) -> Any:
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_of(table)
    return statement.on_conflict_do_update(
        index_elements=["workspace_id", "metric", "day", "member_id", "dimension"],
        set_={
            "count": table.c.count + statement.excluded.count,
            "seconds": table.c.seconds + statement.excluded.seconds,
        },
    )


_ADD_FROM_JSON = (
    "INSERT INTO rollups (workspace_id, metric, day, member_id, dimension, count, seconds) "
    "SELECT r->>0, r->>1, (r->>2)::date, r->>3, r->>4, (r->>5)::bigint, (r->>6)::float8 "
    "FROM jsonb_array_elements(%s::jsonb) AS r "
    "ON CONFLICT (workspace_id, metric, day, member_id, dimension) DO UPDATE SET "
    "count = rollups.count + excluded.count, seconds = rollups.seconds + excluded.seconds"
)


def add(uow: UnitOfWork, workspace_id: str, deltas: Mapping[Key, tuple[int, float]]) -> None:
    """Add these amounts to the workspace's rollups (rows created as needed), in the open transaction."""
    add_all(uow, {workspace_id: deltas})


def add_all(uow: UnitOfWork, deltas: Mapping[str, Mapping[Key, tuple[int, float]]]) -> None:
    """Add amounts to several workspaces' rollups with one statement (``deltas`` by workspace).

    Sorted, so two workers adding to the same rows take their locks in one order (no deadlock)."""
    if uow.database.on_driver:  # one statement, the rows as one JSON text (C's json.dumps, no array dumping)
        amounts = [
            [workspace_id, metric, day.isoformat(), member, dimension, count, seconds]
            for workspace_id in sorted(deltas)
            for (metric, day, member, dimension), (count, seconds) in sorted(deltas[workspace_id].items())
        ]
        if amounts:
            with uow.cursor() as cursor:
                cursor.execute(_ADD_FROM_JSON, (json.dumps(amounts, separators=(",", ":")),))
        return
    rows = [row for workspace_id in sorted(deltas) for row in _rows(workspace_id, deltas[workspace_id])]
    if rows:
        uow.session.execute(_add(Rollup.__table__, uow.session.get_bind().dialect.name), rows)  # type: ignore[arg-type]


def insert_new(uow: UnitOfWork, workspace_id: str, totals_: Mapping[Key, tuple[int, float]]) -> None:
    """Write a workspace's rollups that have no rows yet (a rebuild, after deleting them): COPY, no upsert."""
    uow.copy(Rollup, _rows(workspace_id, totals_, ordered=False))


def _rows(workspace_id: str, amounts: Mapping[Key, tuple[int, float]], *, ordered: bool = True) -> list[dict[str, Any]]:
    items = sorted(amounts.items()) if ordered else amounts.items()
    return [
        {
            "workspace_id": workspace_id,
            "metric": metric,
            "day": day,
            "member_id": member,
            "dimension": dimension,
            "count": count,
            "seconds": seconds,
        }
        for (metric, day, member, dimension), (count, seconds) in items
    ]


@dataclass(frozen=True)
class RollupRow:
    metric: str
    day: date
    member_id: str
    dimension: str
    count: int
    seconds: float


def read(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    metrics: Sequence[str],
    start: date | None,
    end: date,
    member_id: str | None = None,
) -> list[RollupRow]:
    """The non-empty rollup rows of these metrics on the days ``[start, end]`` (``start`` None: since the first),
    for one member or all."""
    query = select(Rollup.metric, Rollup.day, Rollup.member_id, Rollup.dimension, Rollup.count, Rollup.seconds).where(
        Rollup.workspace_id == workspace_id, Rollup.metric.in_(list(metrics)), Rollup.day <= end
    )
    if start is not None:
        query = query.where(Rollup.day >= start)
    if member_id is not None:
        query = query.where(Rollup.member_id == member_id)
    return [RollupRow(*row) for row in uow.session.execute(query) if row[4] or row[5]]  # count, seconds


def sums(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    metrics: Sequence[str],
    start: date | None,
    end: date,
    member_id: str | None = None,
    by: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Counts and seconds summed in the database over the days ``[start, end]``: per metric and the columns
    named in ``by`` (``member_id``, ``dimension``, ``day``); each row is ``(metric, *by, count, seconds)``."""
    groups = [Rollup.metric, *(getattr(Rollup, name) for name in by)]
    query = (
        select(*groups, func.sum(Rollup.count), func.sum(Rollup.seconds))
        .where(Rollup.workspace_id == workspace_id, Rollup.metric.in_(list(metrics)), Rollup.day <= end)
        .group_by(*groups)
    )
    if start is not None:
        query = query.where(Rollup.day >= start)
    if member_id is not None:
        query = query.where(Rollup.member_id == member_id)
    return [(*row[:-2], int(row[-2] or 0), float(row[-1] or 0.0)) for row in uow.session.execute(query)]
