"""The sources report: contacts, new contacts and won contacts per source, for the caller's workspace and scope."""

from __future__ import annotations

from crm_platform.context import Caller
from crm_platform.db import UnitOfWork
from crm_platform.errors import msgid
from crm_reports import report, rollups
from crm_reports.funnel.service import by_metric, scope
from crm_reports.labels import rules as label_rules
from crm_reports.labels import service as labels
from crm_reports.report import Report, ReportQuery, Spec
from crm_reports.sources import represent, rules

TITLE = msgid("Sources")


def build(uow: UnitOfWork, caller: Caller, query: ReportQuery) -> Report:
    member, span = scope(uow, caller, query)
    workspace = caller.workspace_id
    now = by_metric(
        rollups.sums(
            uow,
            workspace_id=workspace,
            metrics=(rules.CONTACTS,),
            start=None,
            end=span.end,
            member_id=member,
            by=("dimension",),
        )
    )
    flows = by_metric(
        rollups.sums(
            uow,
            workspace_id=workspace,
            metrics=(rules.CREATED, rules.WON),
            start=span.start,
            end=span.end,
            member_id=member,
            by=("dimension",),
        )
    )
    numbers = represent.Numbers(
        now=now.get(rules.CONTACTS, {}), created=flows.get(rules.CREATED, {}), won=flows.get(rules.WON, {})
    )
    return represent.report(
        title=TITLE,
        span=span,
        bucket=query.bucket,
        member_id=member,
        names=labels.names(uow, workspace, label_rules.SOURCE),
        numbers=numbers,
    )


SPEC = report.register(Spec("sources", TITLE, build, tables=("sources",), charts=("sources",)))
