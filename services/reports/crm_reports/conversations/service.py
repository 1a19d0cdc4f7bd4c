"""The conversation report: its figures, per-member table and charts over a range, from the rollups and durations
the conversations projection keeps (``crm_reports.conversations.rules`` says what each figure counts)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import msgid
from crm_reports import durations, figures, ranges, rollups, workspaces
from crm_reports.conversations.rules import (
    CLOSE_TIME,
    CLOSED,
    COUNTS,
    DURATIONS,
    FIRST_RESPONSE,
    HANDLED,
    NEW,
    RECEIVED,
    SENT,
)
from crm_reports.ranges import DateRange
from crm_reports.report import Chart, Column, Figure, Report, ReportQuery, Spec, Table, member_scope, register

KEY = "conversations"
# (metric, figure key, label): the counts, each with its own time series chart
COUNT_FIGURES = (
    (NEW, "new", msgid("New conversations")),
    (CLOSED, "closed", msgid("Closed conversations")),
    (SENT, "messages_sent", msgid("Messages sent")),
    (RECEIVED, "messages_received", msgid("Messages received")),
)
DURATION_FIGURES = (
    (CLOSE_TIME, "close_time", msgid("Average time to close")),
    (FIRST_RESPONSE, "first_response", msgid("First response time")),
)
UNASSIGNED = msgid("Unassigned")
BUSINESS_NOTE = msgid("Response and close times count business hours only")
NO_HOURS_NOTE = msgid("The workspace has no business hours: response and close times count every hour")


def count_series(
    rows: Iterable[tuple[Any, ...]], metric: str, period: DateRange, bucket: str
) -> list[tuple[date, float]]:
    """One metric's daily rollup sums ``(metric, day, count, seconds)`` added up per bucket over the range."""
    by_day: dict[date, float] = defaultdict(float)
    for row_metric, day, count, _seconds in rows:
        if row_metric == metric:
            by_day[day] += count
    return figures.series(by_day, period.start, period.end, bucket)


def per_member_counts(rows: Iterable[tuple[Any, ...]]) -> dict[str, dict[str, int]]:
    """``(metric, member, count, seconds)`` sums as counts by member, then metric."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for metric, member, count, _seconds in rows:
        if metric in COUNTS:
            found[member][metric] += count
    return dict(found)


def member_name(member: str, names: Mapping[str, str]) -> str:
    return names.get(member, member) if member else UNASSIGNED


def build(uow: UnitOfWork, caller: Caller, query: ReportQuery) -> Report:
    """The conversation report the caller may see: the workspace's or one member's (agents: their own)."""
    ws = caller.workspace_id
    member = member_scope(caller, query.member)
    context = workspaces.context(uow, ws)
    period = ranges.resolve(query.from_, query.to, zone=context.zone, now=utcnow())
    business = query.business_hours and context.business_hours is not None
    notes: list[str] = []
    if query.business_hours:
        notes.append(BUSINESS_NOTE if business else NO_HOURS_NOTE)

    daily = rollups.sums(
        uow, workspace_id=ws, metrics=COUNTS, start=period.start, end=period.end, member_id=member, by=("day",)
    )
    totals: dict[str, int] = defaultdict(int)
    for metric, _day, count, _seconds in daily:
        totals[metric] += count
    shown: list[Figure] = [Figure(key, label, totals[metric]) for metric, key, label in COUNT_FIGURES]
    start, end = period.instants()
    times = durations.percentiles_by(
        uow,
        workspace_id=ws,
        metrics=DURATIONS,
        start=start,
        end=end,
        by="member_id",
        member_id=member,
        business=business,
    )
    for metric, key, label in DURATION_FIGURES:
        _count, average, (median, p90) = durations.of_group(times, metric)
        shown.append(Figure(key, label, average, "seconds", median, p90))

    charts = [
        Chart(
            f"{key}_series",
            label,
            "series",
            [first.isoformat() for first, _ in points],
            [(label, [value for _, value in points])],
        )
        for metric, key, label in COUNT_FIGURES
        for points in [count_series(daily, metric, period, query.bucket)]
    ]
    table = _member_table(uow, ws, period, member, times)
    charts.append(
        Chart(
            "conversations_per_member",
            msgid("Conversations per member"),
            "pie",
            [row["member"] for row in table.rows if row["conversations"]],
            [(msgid("Conversations"), [row["conversations"] for row in table.rows if row["conversations"]])],
        )
    )
    return Report(
        key=KEY,
        title=msgid("Conversations"),
        range=period,
        bucket=query.bucket,
        member_id=member,
        figures=shown,
        tables=[table],
        charts=charts,
        notes=notes,
    )


MEMBER_COLUMNS: Sequence[Column] = (
    Column("member_id", msgid("Member id"), "text"),
    Column("member", msgid("Member"), "text"),
    Column("conversations", msgid("Conversations")),
    Column("new", msgid("New conversations")),
    Column("closed", msgid("Closed conversations")),
    Column("messages_sent", msgid("Messages sent")),
    Column("messages_received", msgid("Messages received")),
    Column("first_response", msgid("First response time"), "seconds"),
    Column("first_response_median", msgid("First response time (median)"), "seconds"),
    Column("close_time", msgid("Average time to close"), "seconds"),
    Column("close_time_median", msgid("Time to close (median)"), "seconds"),
)


def _member_table(uow: UnitOfWork, ws: str, period: DateRange, member: str | None, times: durations.Grouped) -> Table:
    """A row per member with something in the range (the unassigned too), most conversations first."""
    sums = rollups.sums(
        uow,
        workspace_id=ws,
        metrics=(*COUNTS, CLOSE_TIME, FIRST_RESPONSE),
        start=period.start,
        end=period.end,
        member_id=member,
        by=("member_id",),
    )
    counts = per_member_counts(sums)
    for _metric, found_member, _count, _seconds in sums:
        counts.setdefault(found_member, dict.fromkeys(COUNTS, 0))
    names = workspaces.labels(uow, ws, "member")
    rows: list[dict[str, Any]] = []
    for found_member, of_member in counts.items():
        if not found_member and not any(of_member[metric] for metric in (NEW, CLOSED, HANDLED)):
            continue  # messages received while unassigned alone make no row
        _n, first_average, (first_median, _p90) = durations.of_group(times, FIRST_RESPONSE, found_member)
        _n, close_average, (close_median, _p90) = durations.of_group(times, CLOSE_TIME, found_member)
        rows.append(
            {
                "member_id": found_member,
                "member": member_name(found_member, names),
                "conversations": of_member[HANDLED],
                "new": of_member[NEW],
                "closed": of_member[CLOSED],
                "messages_sent": of_member[SENT],
                "messages_received": of_member[RECEIVED],
                "first_response": first_average,
                "first_response_median": first_median,
                "close_time": close_average,
                "close_time_median": close_median,
            }
        )
    rows.sort(key=lambda row: (-row["conversations"], -row["closed"], row["member"], row["member_id"]))
    return Table("members", msgid("Conversations per member"), MEMBER_COLUMNS, rows)


SPEC = register(
    Spec(
        KEY,
        msgid("Conversations"),
        build,
        tables=("members",),
        charts=(*(f"{key}_series" for _, key, _ in COUNT_FIGURES), "conversations_per_member"),
    )
)
