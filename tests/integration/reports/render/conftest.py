"""A report feature of the tests' own (registered for one test, then gone): figures, tables with hostile cells and
one chart of each kind, so the renderers are pinned before, and apart from, the real reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_reports import ranges, report
from crm_reports.render import words
from crm_reports.report import Chart, Column, Figure, Report, ReportQuery, Spec, Table

KEY = "render_demo"
HOSTILE = ['=HYPERLINK("http://evil.test","click")', "+1", "-2", "@SUM(A1:A9)", "\tcmd", "<b>bold</b>"]
MEMBERS = ["Ana", "Luis", "Marta"]
STAGES = ["Lead", "Qualified", "Proposal", "Won"]


def build(_uow: UnitOfWork, who: Caller, query: ReportQuery) -> Report:
    span = ranges.resolve(query.from_, query.to, zone=ZoneInfo("Europe/Madrid"), now=utcnow())
    member = report.member_scope(who, query.member)
    days = [(span.start + timedelta(days=n)).isoformat() for n in range(span.days)]
    email = [float(n % 5 + 1) for n in range(len(days))]
    chat = [float((n * 3) % 4) for n in range(len(days))]
    rows = [
        {"member": name, "count": 10 - 3 * n, "median": 3725.5 + 600 * n, "note": HOSTILE[n]}
        for n, name in enumerate(MEMBERS)
    ]
    rows += [{"member": text, "count": -2, "median": None, "note": text} for text in HOSTILE[3:]]
    return Report(
        key=KEY,
        title="Demo report",
        range=span,
        bucket=query.bucket,
        member_id=member,
        figures=[
            Figure("count", words.COUNT, int(sum(email) + sum(chat))),
            Figure("wait", words.MEDIAN, 3725.0, "seconds", median=1800.0, p90=7260.0),
            Figure("share", words.SHARE, 0.25, "ratio"),
        ],
        tables=[
            Table(
                "by_member",
                words.MEMBER,
                [
                    Column("member", words.MEMBER, "text"),
                    Column("count", words.COUNT),
                    Column("median", words.MEDIAN, "seconds"),
                    Column("note", "Note", "text"),
                ],
                rows,
            ),
            Table("empty", "Nothing", [Column("day", words.DAY, "date")], []),
        ],
        charts=[
            Chart("channels", words.SHARE, "pie", ["Email", words.OTHER], [(words.TOTAL, [sum(email), sum(chat)])]),
            Chart("by_day", words.DAY, "series", days, [("Email", email), (words.OTHER, chat)]),
            Chart("members", words.MEMBER, "bars", MEMBERS, [(words.COUNT, [12.0, 7.0, 3.0])]),
            Chart("stages", "Funnel", "funnel", STAGES, [(words.COUNT, [120.0, 60.0, 25.0, 9.0])]),
            Chart("quiet", words.AVERAGE, "bars", MEMBERS, [(words.COUNT, [0.0, 0.0, 0.0])]),
        ],
        notes=["Invented for the tests"],
    )


@pytest.fixture
def demo_report() -> Iterator[str]:
    report.register(Spec(KEY, "Demo report", build))
    try:
        yield KEY
    finally:
        report.REPORTS.pop(KEY, None)
