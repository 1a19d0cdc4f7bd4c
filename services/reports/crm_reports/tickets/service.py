"""The ticket report: counts, the state at the range's end, first response and solution times, SLA outcomes."""

from __future__ import annotations

from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import msgid
from crm_reports import durations, figures, ranges, report, rollups, workspaces
from crm_reports.report import Report, ReportQuery, Spec
from crm_reports.tickets import represent
from crm_reports.tickets.rules import COUNTED, FIRST_RESPONSE, SLA, SLA_BREACH, SOLUTION, STATE

TITLE = msgid("Tickets")
CALENDAR_HOURS = msgid("First response and solution times count every hour: business hours are not applied yet.")


def build(uow: UnitOfWork, caller: Caller, query: ReportQuery) -> Report:
    """The caller's ticket report over the query's range (an agent's own tickets only)."""
    member = report.member_scope(caller, query.member)
    workspace_id = caller.workspace_id
    context = workspaces.context(uow, workspace_id)
    span = ranges.resolve(query.from_, query.to, zone=context.zone, now=utcnow())
    in_range = rollups.sums(
        uow,
        workspace_id=workspace_id,
        metrics=[*COUNTED, SLA, SLA_BREACH],
        start=span.start,
        end=span.end,
        member_id=member,
        by=("member_id", "dimension"),
    )
    per_day = rollups.sums(
        uow, workspace_id=workspace_id, metrics=COUNTED, start=span.start, end=span.end, member_id=member, by=("day",)
    )
    at_end = rollups.sums(
        uow,
        workspace_id=workspace_id,
        metrics=[STATE],
        start=None,
        end=span.end,
        member_id=member,
        by=("member_id", "dimension"),
    )
    start, end = span.instants()
    times: dict[str, dict[str, figures.Stats]] = {}
    members = sorted({row[1] for row in [*in_range, *at_end]} | ({member} if member is not None else set()))
    grouped = durations.percentiles_by(
        uow,
        workspace_id=workspace_id,
        metrics=(FIRST_RESPONSE, SOLUTION),
        start=start,
        end=end,
        by="member_id",
        member_id=member,
    )
    for metric in (FIRST_RESPONSE, SOLUTION):
        times[metric] = {}
        for who in (represent.EVERYONE, *members):
            count, average, (median, p90) = durations.of_group(
                grouped, metric, None if who == represent.EVERYONE else who
            )
            if count or who == represent.EVERYONE:
                times[metric][who] = figures.Stats(count, average, (median, p90))
    inputs = represent.Inputs(
        in_range=in_range,
        per_day=per_day,
        at_end=at_end,
        times=times,
        member_names=workspaces.labels(uow, workspace_id, "member"),
    )
    found_figures, tables, charts = represent.build(inputs, start=span.start, end=span.end, bucket=query.bucket)
    notes = [CALENDAR_HOURS] if query.business_hours else []
    return Report(
        "tickets",
        TITLE,
        span,
        query.bucket,
        member,
        figures=found_figures,
        tables=tables,
        charts=charts,
        notes=notes,
    )


SPEC = report.register(
    Spec(
        "tickets",
        TITLE,
        build,
        tables=("over_time", "by_status", "by_priority", "by_member", "sla"),
        charts=("over_time", "by_status", "sla"),
    )
)
