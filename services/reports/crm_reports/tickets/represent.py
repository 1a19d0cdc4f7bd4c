"""The ticket report's figures, tables and charts, from rollup sums and duration statistics: plain functions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from crm_platform.errors import msgid
from crm_reports import figures
from crm_reports.figures import Stats
from crm_reports.report import Chart, Column, Figure, Table
from crm_reports.tickets.rules import (
    CLOSED,
    COUNTED,
    DONE,
    FIRST_RESPONSE,
    MERGED,
    OPENED,
    PRIORITIES,
    REOPENED,
    SLA,
    SLA_BREACH,
    SLA_TARGETS,
    SOLUTION,
    SOLVED,
    STATE,
    STATUSES,
    state_of,
)

STATUS_LABELS = {
    "new": msgid("New"),
    "open": msgid("Open"),
    "pending": msgid("Pending"),
    "stopped": msgid("On hold"),
    "solved": msgid("Solved"),
    "closed": msgid("Closed"),
}
PRIORITY_LABELS = {
    "low": msgid("Low"),
    "normal": msgid("Normal"),
    "high": msgid("High"),
    "urgent": msgid("Urgent"),
}
TARGET_LABELS = {
    "first_response": msgid("First response"),
    "update": msgid("Update"),
    "solution": msgid("Solution"),
}
COUNT_LABELS = {
    OPENED: msgid("Tickets opened"),
    SOLVED: msgid("Tickets solved"),
    CLOSED: msgid("Tickets closed"),
    REOPENED: msgid("Tickets reopened"),
    MERGED: msgid("Tickets merged"),
}
TIME_LABELS = {FIRST_RESPONSE: msgid("First response time"), SOLUTION: msgid("Solution time")}
UNASSIGNED = msgid("Unassigned")
ACTIVE = tuple(status for status in STATUSES if status not in DONE)

Sums = Sequence[tuple[str, str, str, int, float]]  # (metric, member, dimension, count, seconds)
DaySums = Sequence[tuple[str, date, int, float]]  # (metric, day, count, seconds)
Times = Mapping[str, Mapping[str, Stats]]  # metric -> member ("*": everyone shown) -> stats
EVERYONE = "*"


@dataclass(frozen=True)
class Inputs:
    """What the database gave for one report: sums over the range, the state at its end, the durations' stats."""

    in_range: Sums
    per_day: DaySums
    at_end: Sums  # STATE summed over every day up to the range's end
    times: Times
    member_names: Mapping[str, str]


def counts(rows: Sums, metric: str, *, by: str | None = None) -> dict[str, int]:
    """Counts of one metric, in total (key ``""``), per ``member`` or per ``dimension``."""
    found: dict[str, int] = defaultdict(int)
    for name, member, dimension, count, _seconds in rows:
        if name == metric:
            found[{None: "", "member": member, "dimension": dimension}[by]] += count
    return dict(found)


def tickets_by_status(at_end: Sums) -> dict[str, int]:
    """How many tickets were in each status at the range's end (every status present, zero where none)."""
    found = dict.fromkeys(STATUSES, 0)
    for metric, _member, dimension, count, _seconds in at_end:
        status, _priority = state_of(dimension)
        if metric == STATE and status in found:
            found[status] += count
    return found


def active_by(at_end: Sums, *, by: str) -> dict[str, int]:
    """Active (not solved or closed) tickets at the range's end per ``priority`` or ``member``."""
    found: dict[str, int] = defaultdict(int)
    for metric, member, dimension, count, _seconds in at_end:
        status, priority = state_of(dimension)
        if metric == STATE and status in ACTIVE:
            found[priority if by == "priority" else member] += count
    return {key: value for key, value in found.items() if value}


def sla_outcomes(in_range: Sums) -> dict[str, dict[str, int]]:
    """Per SLA target: met, breached (tickets resolved in the range) and breach alerts (raised in the range)."""
    found = {target: {"met": 0, "breached": 0, "alerts": 0} for target in SLA_TARGETS}
    for metric, _member, dimension, count, _seconds in in_range:
        if metric == SLA:
            target, _, outcome = dimension.partition(":")
            found.setdefault(target, {"met": 0, "breached": 0, "alerts": 0})[outcome] += count
        elif metric == SLA_BREACH and dimension:
            found.setdefault(dimension, {"met": 0, "breached": 0, "alerts": 0})["alerts"] += count
    return found


def build(inputs: Inputs, *, start: date, end: date, bucket: str) -> tuple[list[Figure], list[Table], list[Chart]]:
    """The ticket report's figures, tables and charts."""
    totals = {metric: counts(inputs.in_range, metric).get("", 0) for metric in COUNTED}
    by_status = tickets_by_status(inputs.at_end)
    sla = sla_outcomes(inputs.in_range)
    met, breached = sum(row["met"] for row in sla.values()), sum(row["breached"] for row in sla.values())
    figures_ = [Figure(metric.removeprefix("ticket_"), COUNT_LABELS[metric], totals[metric]) for metric in COUNTED]
    figures_.append(Figure("active_at_end", msgid("Active tickets at the end"), sum(by_status[s] for s in ACTIVE)))
    for metric in (FIRST_RESPONSE, SOLUTION):
        found = inputs.times.get(metric, {}).get(EVERYONE, figures.stats([]))
        figures_.append(
            Figure(
                metric.removeprefix("ticket_"),
                TIME_LABELS[metric],
                found.average,
                "seconds",
                median=found.percentiles[0],
                p90=found.percentiles[1],
            )
        )
    figures_ += [
        Figure("sla_met", msgid("SLA targets met"), met),
        Figure("sla_breached", msgid("SLA targets breached"), breached),
        Figure("sla_met_rate", msgid("SLA targets met (share)"), figures.ratio(met, met + breached), "ratio"),
    ]
    over_time = _over_time(inputs.per_day, start=start, end=end, bucket=bucket)
    tables = [
        over_time,
        _status_table(by_status),
        _priority_table(inputs),
        _member_table(inputs),
        _sla_table(sla),
    ]
    charts = [
        Chart(
            "over_time",
            msgid("Tickets over time"),
            "series",
            [row["bucket"] for row in over_time.rows],
            [
                (COUNT_LABELS[metric], [row[metric.removeprefix("ticket_")] for row in over_time.rows])
                for metric in (OPENED, SOLVED, CLOSED, REOPENED)
            ],
        ),
        Chart(
            "by_status",
            msgid("Tickets by status at the end"),
            "pie",
            [STATUS_LABELS[status] for status in STATUSES],
            [(msgid("Tickets"), [by_status[status] for status in STATUSES])],
        ),
        Chart(
            "sla",
            msgid("SLA targets met and breached"),
            "bars",
            [TARGET_LABELS.get(target, target) for target in sla],
            [
                (msgid("Met"), [row["met"] for row in sla.values()]),
                (msgid("Breached"), [row["breached"] for row in sla.values()]),
            ],
        ),
    ]
    return figures_, tables, charts


def _over_time(per_day: DaySums, *, start: date, end: date, bucket: str) -> Table:
    columns = [Column("bucket", msgid("Period"), "date")]
    series = {}
    for metric in (OPENED, SOLVED, CLOSED, REOPENED):
        values = {day: float(count) for name, day, count, _seconds in per_day if name == metric}
        series[metric] = figures.series(values, start, end, bucket)
        columns.append(Column(metric.removeprefix("ticket_"), COUNT_LABELS[metric]))
    rows = [
        {"bucket": first.isoformat(), **{m.removeprefix("ticket_"): int(series[m][n][1]) for m in series}}
        for n, (first, _value) in enumerate(series[OPENED])
    ]
    return Table("over_time", msgid("Tickets over time"), columns, rows)


def _status_table(by_status: Mapping[str, int]) -> Table:
    columns = [Column("status", msgid("Status"), "text"), Column("label", msgid("Name"), "text")]
    rows = [{"status": s, "label": STATUS_LABELS[s], "tickets": by_status[s]} for s in STATUSES]
    return Table(
        "by_status", msgid("Tickets by status at the end"), [*columns, Column("tickets", msgid("Tickets"))], rows
    )


def _priority_table(inputs: Inputs) -> Table:
    opened = counts(inputs.in_range, OPENED, by="dimension")
    solved = counts(inputs.in_range, SOLVED, by="dimension")
    active = active_by(inputs.at_end, by="priority")
    rows = [
        {
            "priority": priority,
            "label": PRIORITY_LABELS[priority],
            "opened": opened.get(priority, 0),
            "solved": solved.get(priority, 0),
            "active_at_end": active.get(priority, 0),
        }
        for priority in PRIORITIES
    ]
    columns = [
        Column("priority", msgid("Priority"), "text"),
        Column("label", msgid("Name"), "text"),
        Column("opened", COUNT_LABELS[OPENED]),
        Column("solved", COUNT_LABELS[SOLVED]),
        Column("active_at_end", msgid("Active tickets at the end")),
    ]
    return Table("by_priority", msgid("Tickets by priority"), columns, rows)


def _member_table(inputs: Inputs) -> Table:
    per_metric = {metric: counts(inputs.in_range, metric, by="member") for metric in COUNTED}
    active = active_by(inputs.at_end, by="member")
    members = set(active).union(*per_metric.values()).union(*(inputs.times.get(m, {}) for m in TIME_LABELS))
    members.discard(EVERYONE)
    rows = []
    for member in sorted(members, key=lambda m: (m == "", inputs.member_names.get(m, m).lower(), m)):
        row: dict[str, Any] = {"member_id": member, "name": inputs.member_names.get(member, member) or UNASSIGNED}
        for metric in COUNTED:
            row[metric.removeprefix("ticket_")] = per_metric[metric].get(member, 0)
        row["active_at_end"] = active.get(member, 0)
        for metric in TIME_LABELS:
            found = inputs.times.get(metric, {}).get(member, figures.stats([]))
            key = metric.removeprefix("ticket_")
            row.update({f"{key}_average": found.average, f"{key}_median": found.percentiles[0]})
            row[f"{key}_p90"] = found.percentiles[1]
        rows.append(row)
    columns = [Column("member_id", msgid("Member id"), "text"), Column("name", msgid("Member"), "text")]
    columns += [Column(metric.removeprefix("ticket_"), COUNT_LABELS[metric]) for metric in COUNTED]
    columns.append(Column("active_at_end", msgid("Active tickets at the end")))
    for metric, label in TIME_LABELS.items():
        key = metric.removeprefix("ticket_")
        columns += [
            Column(f"{key}_average", label, "seconds"),
            Column(f"{key}_median", msgid("median"), "seconds"),
            Column(f"{key}_p90", msgid("p90"), "seconds"),
        ]
    return Table("by_member", msgid("Tickets by responsible member"), columns, rows)


def _sla_table(sla: Mapping[str, Mapping[str, int]]) -> Table:
    rows = [
        {
            "target": target,
            "label": TARGET_LABELS.get(target, target),
            "met": row["met"],
            "breached": row["breached"],
            "met_rate": figures.ratio(row["met"], row["met"] + row["breached"]),
            "breach_alerts": row["alerts"],
        }
        for target, row in sla.items()
    ]
    columns = [
        Column("target", msgid("Target"), "text"),
        Column("label", msgid("Name"), "text"),
        Column("met", msgid("Met")),
        Column("breached", msgid("Breached")),
        Column("met_rate", msgid("Met (share)"), "ratio"),
        Column("breach_alerts", msgid("Breach alerts")),
    ]
    return Table("sla", msgid("SLA targets"), columns, rows)
