"""Durations derived from facts (a first response, a close per cycle, a ticket's solution, time in a stage), one
row each: the medians and p90s are read from them over a range; averages come from the rollups."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, delete, func, select, tuple_
from sqlalchemy.orm import Mapped, mapped_column

from crm_platform.db import UnitOfWork, UtcDateTime
from crm_reports.models import Base


class Duration(Base):
    __tablename__ = "durations"

    workspace_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    projection: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    metric: Mapped[str] = mapped_column(String(48), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # the cycle, or the n-th stay in a stage
    at: Mapped[datetime] = mapped_column(UtcDateTime())  # when it ended: what a range selects on
    member_id: Mapped[str] = mapped_column(String(36), default="")
    dimension: Mapped[str] = mapped_column(String(80), default="")
    seconds: Mapped[float] = mapped_column(Float)
    business_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: no business hours set

    __table_args__ = (Index("ix_durations_workspace_id_metric_at", "workspace_id", "metric", "at"),)


@dataclass(frozen=True)
class DurationRow:
    """One duration as a projection derives it."""

    metric: str
    seq: int
    at: datetime
    seconds: float
    member_id: str = ""
    dimension: str = ""
    business_seconds: float | None = None


def replace_many(uow: UnitOfWork, *, projection: str, rows: dict[tuple[str, str], Sequence[DurationRow]]) -> None:
    """``replace`` for subjects of several workspaces, ``rows`` by (workspace, subject): one DELETE (on PostgreSQL
    the pairs as two arrays joined to the durations: one index descent a pair) and one INSERT."""
    pairs = sorted(rows)
    if uow.database.on_driver:
        with uow.cursor() as cursor:
            cursor.execute(
                _DELETE_OF_PAIRS,
                ([workspace for workspace, _subject in pairs], [subject for _workspace, subject in pairs], projection),
            )
    else:
        subjects = sorted({subject for _workspace, subject in pairs})
        spaces = sorted({workspace for workspace, _subject in pairs})
        for start in range(0, len(subjects), 1000):
            uow.session.execute(
                delete(Duration).where(
                    Duration.workspace_id.in_(spaces),
                    Duration.projection == projection,
                    Duration.subject_id.in_(subjects[start : start + 1000]),
                )
            )
    if uow.database.on_driver:  # one INSERT, the rows as one JSON text (not one INSERT a row)
        found_rows = [
            [
                workspace_id,
                subject,
                row.metric,
                row.seq,
                row.at.isoformat(),
                row.member_id,
                row.dimension,
                row.seconds,
                row.business_seconds,
            ]
            for (workspace_id, subject), of_subject in rows.items()
            for row in of_subject
        ]
        if found_rows:
            with uow.cursor() as cursor:
                cursor.execute(_INSERT_FROM_JSON, (projection, json.dumps(found_rows, separators=(",", ":"))))
        return
    found = [
        _row(workspace_id, projection, subject, row)
        for (workspace_id, subject), of_subject in rows.items()
        for row in of_subject
    ]
    if found:
        uow.insert(Duration, found)


_DELETE_OF_PAIRS = (
    "DELETE FROM durations AS d USING unnest(%s::varchar[], %s::varchar[]) AS p (workspace_id, subject_id) "
    "WHERE d.projection = %s AND d.workspace_id = p.workspace_id AND d.subject_id = p.subject_id"
)

_INSERT_FROM_JSON = (
    "INSERT INTO durations (workspace_id, projection, subject_id, metric, seq, at, member_id, dimension, seconds, "
    "business_seconds) SELECT r->>0, %s, r->>1, r->>2, (r->>3)::int, (r->>4)::timestamptz, r->>5, r->>6, "
    "(r->>7)::float8, (r->>8)::float8 FROM jsonb_array_elements(%s::jsonb) AS r"
)


def _row(workspace_id: str, projection: str, subject: str, row: DurationRow) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "projection": projection,
        "subject_id": subject,
        "metric": row.metric,
        "seq": row.seq,
        "at": row.at,
        "member_id": row.member_id,
        "dimension": row.dimension,
        "seconds": row.seconds,
        "business_seconds": row.business_seconds,
    }


def insert_many(
    uow: UnitOfWork, *, workspace_id: str, projection: str, rows_by_subject: dict[str, Sequence[DurationRow]]
) -> None:
    """New durations of subjects that have none stored (a rebuild, after deleting them), with COPY."""
    uow.copy(
        Duration,
        [_row(workspace_id, projection, subject, row) for subject, found in rows_by_subject.items() for row in found],
    )


def values(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    metric: str,
    start: datetime,
    end: datetime,
    member_id: str | None = None,
    business: bool = False,
    dimension: str | None = None,
) -> list[float]:
    """The seconds (or business seconds) of one metric's durations that ended in ``[start, end)`` (of one
    dimension, e.g. a stage, or all)."""
    column = Duration.business_seconds if business else Duration.seconds
    query = select(column).where(
        Duration.workspace_id == workspace_id, Duration.metric == metric, Duration.at >= start, Duration.at < end
    )
    if member_id is not None:
        query = query.where(Duration.member_id == member_id)
    if dimension is not None:
        query = query.where(Duration.dimension == dimension)
    return [value for (value,) in uow.session.execute(query) if value is not None]


def percentiles(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    metric: str,
    start: datetime,
    end: datetime,
    member_id: str | None = None,
    business: bool = False,
    fractions: Iterable[float] = (0.5, 0.9),
    dimension: str | None = None,
) -> tuple[int, float | None, list[float | None]]:
    """(count, average, the percentiles asked for) of one metric's durations that ended in ``[start, end)``:
    computed by PostgreSQL (``percentile_cont``) where it runs, by ``figures.stats`` elsewhere."""
    from crm_reports import figures

    wanted = list(fractions)
    if uow.session.get_bind().dialect.name != "postgresql":
        found = figures.stats(
            values(
                uow,
                workspace_id=workspace_id,
                metric=metric,
                start=start,
                end=end,
                member_id=member_id,
                business=business,
                dimension=dimension,
            ),
            wanted,
        )
        return found.count, found.average, list(found.percentiles)
    column = Duration.business_seconds if business else Duration.seconds
    query = select(
        func.count(column),
        func.avg(column),
        *(func.percentile_cont(fraction).within_group(column) for fraction in wanted),
    ).where(Duration.workspace_id == workspace_id, Duration.metric == metric, Duration.at >= start, Duration.at < end)
    if member_id is not None:
        query = query.where(Duration.member_id == member_id)
    if dimension is not None:
        query = query.where(Duration.dimension == dimension)
    row = uow.session.execute(query).one()
    count = int(row[0] or 0)
    if count == 0:
        return 0, None, [None for _ in wanted]
    return count, float(row[1]), [float(value) for value in row[2:]]


Grouped = dict[tuple[str, str | None], tuple[int, float | None, list[float | None]]]


def percentiles_by(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    metrics: Sequence[str],
    start: datetime,
    end: datetime,
    by: str,
    member_id: str | None = None,
    business: bool = False,
    fractions: Sequence[float] = (0.5, 0.9),
) -> Grouped:
    """``percentiles`` of several metrics at once, overall and per ``by`` (``member_id`` or ``dimension``), in
    one query: ``{(metric, None): overall, (metric, key): of that key}`` (a report's table of members or stages
    asked one query per row before: 44 queries for one conversation report)."""
    from crm_reports import figures

    column = Duration.business_seconds if business else Duration.seconds
    key = getattr(Duration, by)
    where = [
        Duration.workspace_id == workspace_id,
        Duration.metric.in_(list(metrics)),
        Duration.at >= start,
        Duration.at < end,
        column.is_not(None),
    ]
    if member_id is not None:
        where.append(Duration.member_id == member_id)
    found: Grouped = {}
    if uow.session.get_bind().dialect.name != "postgresql":
        values_of: dict[tuple[str, str | None], list[float]] = {}
        for metric, group, value in uow.session.execute(select(Duration.metric, key, column).where(*where)):
            values_of.setdefault((metric, None), []).append(value)
            values_of.setdefault((metric, group), []).append(value)
        for group_key, found_values in values_of.items():
            stats = figures.stats(found_values, fractions)
            found[group_key] = (stats.count, stats.average, list(stats.percentiles))
        return found
    query = (
        select(
            Duration.metric,
            key,
            func.grouping(key),
            func.count(column),
            func.avg(column),
            *(func.percentile_cont(fraction).within_group(column) for fraction in fractions),
        )
        .where(*where)
        .group_by(func.grouping_sets(tuple_(Duration.metric), tuple_(Duration.metric, key)))
    )
    for metric, group, overall, count, average, *cut in uow.session.execute(query):
        found[(metric, None if overall else group)] = (int(count), float(average), [float(value) for value in cut])
    return found


def of_group(found: Grouped, metric: str, key: str | None = None) -> tuple[int, float | None, list[float | None]]:
    """One entry of ``percentiles_by``'s answer (none: no durations)."""
    return found.get((metric, key), (0, None, [None, None]))
