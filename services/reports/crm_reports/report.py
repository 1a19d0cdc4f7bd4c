"""What a report is, whatever it reports on: figures, tables and charts over a range, in one shape.

Each report feature writes one ``build`` function (the caller, the query, a unit of work in; a ``Report`` out)
and registers it with ``endpoints``: the JSON, CSV, SVG and HTML answers are made from that one ``Report``
by the renderers in ``crm_reports.render``, so every report has every output and they always agree.

Labels are English msgids (``crm_platform.errors.msgid``), translated when rendered in the caller's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import ConfigDict, Field

from crm_platform.context import Caller
from crm_platform.db import UnitOfWork
from crm_platform.errors import NotFound
from crm_platform.openapi import QueryModel
from crm_reports.ranges import DateRange

Unit = Literal["count", "seconds", "ratio", "text", "date"]


@dataclass(frozen=True)
class Figure:
    """One headline number; a duration has its median and p90 beside the average (``value``)."""

    key: str
    label: str
    value: float | int | None
    unit: Unit = "count"
    median: float | None = None
    p90: float | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"key": self.key, "label": self.label, "value": self.value, "unit": self.unit}
        if self.unit == "seconds":
            found.update(median=self.median, p90=self.p90)
        return found


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: Unit = "count"


@dataclass(frozen=True)
class Table:
    """Rows of one breakdown (per member, per day, per stage...); every row has a value for every column."""

    key: str
    label: str
    columns: Sequence[Column]
    rows: Sequence[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "columns": [{"key": c.key, "label": c.label, "unit": c.unit} for c in self.columns],
            "rows": [dict(row) for row in self.rows],
        }


@dataclass(frozen=True)
class Chart:
    """What a chart shows, not how: ``pie`` (one series, its parts), ``series`` (values over the buckets, one
    line per series), ``bars`` (categories), ``funnel`` (stages in order)."""

    key: str
    label: str
    kind: Literal["pie", "series", "bars", "funnel"]
    categories: Sequence[str]  # the slices, the buckets (ISO dates), the bars or the stages, in order
    series: Sequence[tuple[str, Sequence[float]]]  # (label, one value per category)
    unit: Unit = "count"

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "unit": self.unit,
            "categories": list(self.categories),
            "series": [{"label": name, "values": list(values)} for name, values in self.series],
        }


@dataclass(frozen=True)
class Report:
    key: str  # conversations, tickets, funnel, sources, mail
    title: str
    range: DateRange
    bucket: str
    member_id: str | None  # the member the figures are limited to; None: the whole workspace
    figures: Sequence[Figure] = ()
    tables: Sequence[Table] = ()
    charts: Sequence[Chart] = ()
    notes: Sequence[str] = field(default_factory=tuple)  # e.g. "times count business hours only"

    def table(self, key: str) -> Table:
        return _one(self.tables, key, "table")

    def chart(self, key: str) -> Chart:
        return _one(self.charts, key, "chart")

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.key,
            "title": self.title,
            **self.range.as_json(),
            "bucket": self.bucket,
            "member_id": self.member_id,
            "figures": [figure.as_json() for figure in self.figures],
            "tables": [table.as_json() for table in self.tables],
            "charts": [chart.as_json() for chart in self.charts],
            "notes": list(self.notes),
        }


def _one(items: Sequence[Any], key: str, what: str) -> Any:
    for item in items:
        if item.key == key:
            return item
    raise NotFound(f"no such {what}")


class ReportQuery(QueryModel):
    """The query string every report takes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str | None = Field(default=None, alias="from", max_length=10, description="first day, YYYY-MM-DD")
    to: str | None = Field(default=None, max_length=10, description="last day (included), YYYY-MM-DD; default today")
    bucket: Literal["day", "week", "month"] = Field(default="day", description="time series buckets")
    member: str | None = Field(
        default=None, max_length=36, description="only this member's figures (admins; agents always see their own)"
    )
    business_hours: bool = Field(
        default=False, description="count response and close times in the workspace's business hours only"
    )


def member_scope(caller: Caller, requested: str | None) -> str | None:
    """Whose figures a caller sees: an admin, the workspace's or the member asked for; an agent, their own only
    (asking for another member's answers 404, as anything else a caller may not see)."""
    if caller.is_admin:
        return requested or None
    if requested and requested != caller.user_id:
        raise NotFound("no such member")
    return caller.user_id


Build = Callable[[UnitOfWork, Caller, ReportQuery], Report]


@dataclass(frozen=True)
class Spec:
    """A registered report: its key (the path), its title and how it is built."""

    key: str
    title: str
    build: Build
    tables: Sequence[str] = ()
    charts: Sequence[str] = ()


REPORTS: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    if spec.key in REPORTS:
        raise ValueError(f"report {spec.key!r} registered twice")
    REPORTS[spec.key] = spec
    return spec


def day_keys(values: dict[date, float]) -> list[str]:
    return [day.isoformat() for day in values]
