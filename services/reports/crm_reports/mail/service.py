"""The mail report: what the mailer sent, delivered, bounced and suppressed, and recipients' complaints and
unsubscribes, over a range."""

from __future__ import annotations

from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import msgid
from crm_reports import ranges, report, rollups, workspaces
from crm_reports.mail import represent
from crm_reports.mail.rules import METRICS
from crm_reports.report import Report, ReportQuery, Spec

TITLE = msgid("Mail")
NO_MEMBER = msgid("Mail belongs to no member: these are the workspace's figures, whatever member is asked for.")
DELIVERED_MAY_DROP = msgid(
    "Delivered: sent and no bounce heard of; a later bounce takes a message out of its sent day's delivered."
)


def build(uow: UnitOfWork, caller: Caller, query: ReportQuery) -> Report:
    """The workspace's mail report over the query's range (the same for every member)."""
    report.member_scope(caller, query.member)  # an agent asking for another member is refused as anywhere else
    workspace_id = caller.workspace_id
    span = ranges.resolve(query.from_, query.to, zone=workspaces.context(uow, workspace_id).zone, now=utcnow())
    in_range, per_day = (
        rollups.sums(uow, workspace_id=workspace_id, metrics=METRICS, start=span.start, end=span.end, by=(by,))
        for by in ("dimension", "day")
    )
    found_figures, tables, charts = represent.build(
        in_range, per_day, start=span.start, end=span.end, bucket=query.bucket
    )
    return Report(
        "mail",
        TITLE,
        span,
        query.bucket,
        None,
        figures=found_figures,
        tables=tables,
        charts=charts,
        notes=[NO_MEMBER, DELIVERED_MAY_DROP],
    )


SPEC = report.register(
    Spec(
        "mail", TITLE, build, tables=("over_time", "by_kind", "bounces", "suppressed"), charts=("over_time", "bounces")
    )
)
