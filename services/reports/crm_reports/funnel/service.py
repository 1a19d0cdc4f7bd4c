"""The funnel report: its numbers read from the rollups and durations, for the caller's workspace and scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import msgid
from crm_reports import durations, figures, ranges, report, rollups, workspaces
from crm_reports.funnel import represent, rules
from crm_reports.labels import rules as label_rules
from crm_reports.labels import service as labels
from crm_reports.ranges import DateRange
from crm_reports.report import Report, ReportQuery, Spec

TITLE = msgid("Funnel")


def by_metric(rows: Sequence[tuple[Any, ...]]) -> dict[str, dict[Any, int]]:
    """``rollups.sums`` rows ``(metric, key, count, seconds)`` as metric -> key -> count."""
    found: dict[str, dict[Any, int]] = defaultdict(dict)
    for metric, key, count, _seconds in rows:
        found[metric][key] = found[metric].get(key, 0) + count
    return found


def scope(uow: UnitOfWork, caller: Caller, query: ReportQuery) -> tuple[str | None, DateRange]:
    """Whose figures (``report.member_scope``) over which days (in the workspace's time zone)."""
    member = report.member_scope(caller, query.member)
    zone = workspaces.context(uow, caller.workspace_id).zone
    return member, ranges.resolve(query.from_, query.to, zone=zone, now=utcnow())


def build(uow: UnitOfWork, caller: Caller, query: ReportQuery) -> Report:
    member, span = scope(uow, caller, query)
    workspace = caller.workspace_id

    def sums(metrics: Sequence[str], start: date | None, by: str) -> list[tuple[Any, ...]]:
        return rollups.sums(
            uow, workspace_id=workspace, metrics=metrics, start=start, end=span.end, member_id=member, by=(by,)
        )

    flow_metrics = (rules.CREATED, rules.WON, rules.LOST, rules.ENTERED, rules.EXITED, rules.WON_AFTER)
    now = by_metric(sums((rules.OPEN_STAGE, rules.OPEN_TYPE), None, "dimension"))
    flows = by_metric(sums(flow_metrics, span.start, "dimension"))
    daily = by_metric(sums((rules.WON, rules.LOST), span.start, "day"))
    owners_now = by_metric(sums((rules.OPEN_TYPE,), None, "member_id")).get(rules.OPEN_TYPE, {})
    owners_flows = by_metric(sums((rules.CREATED, rules.WON, rules.LOST), span.start, "member_id"))
    order = labels.funnel_order(uow, workspace)
    first, after = span.instants()

    grouped = durations.percentiles_by(
        uow,
        workspace_id=workspace,
        metrics=(rules.STAGE_TIME,),
        start=first,
        end=after,
        by="dimension",
        member_id=member,
    )

    def times(stage: str | None) -> figures.Stats:
        count, average, percentiles = durations.of_group(grouped, rules.STAGE_TIME, stage)
        return figures.Stats(count, average, tuple(percentiles))

    stages = represent.in_order(order, now.get(rules.OPEN_STAGE, {}), flows.get(rules.ENTERED, {}))
    numbers = represent.Numbers(
        now=now,
        flows=flows,
        daily={metric: {day: float(count) for day, count in found.items()} for metric, found in daily.items()},
        now_by_owner=owners_now,
        flows_by_owner=owners_flows,
        stage_times={stage.key: times(stage.key) for stage in stages},
        all_stage_times=times(None),
    )
    return represent.report(
        title=TITLE,
        span=span,
        bucket=query.bucket,
        member_id=member,
        order=order,
        type_names={key: name for key, (name, _es) in labels.names(uow, workspace, label_rules.TYPE).items()},
        member_names=workspaces.labels(uow, workspace, label_rules.MEMBER),
        numbers=numbers,
    )


SPEC = report.register(
    Spec("funnel", TITLE, build, tables=("stages", "types", "owners"), charts=("funnel", "won_lost"))
)
