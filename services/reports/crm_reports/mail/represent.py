"""The mail report's figures, tables and charts, from its rollup sums: plain functions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from crm_platform.errors import msgid
from crm_reports import figures
from crm_reports.mail.rules import (
    BOUNCE_KINDS,
    BOUNCED,
    COMPLAINED,
    DELIVERED,
    METRICS,
    SENT,
    SOFT_KINDS,
    SUPPRESSED,
    UNSUBSCRIBED,
)
from crm_reports.report import Chart, Column, Figure, Table

LABELS = {
    SENT: msgid("Sent"),
    DELIVERED: msgid("Delivered"),
    BOUNCED: msgid("Bounced"),
    COMPLAINED: msgid("Complaints"),
    UNSUBSCRIBED: msgid("Unsubscribes"),
    SUPPRESSED: msgid("Suppressed"),
}
BOUNCE_LABELS = {"hard": msgid("Hard"), "mailbox_full": msgid("Mailbox full"), "soft": msgid("Soft")}
KIND_LABELS = {
    "ticket_comment": msgid("Ticket comments"),
    "conversation_message": msgid("Conversation messages"),
    "direct": msgid("Direct mail"),
    "": msgid("Other"),
}

Sums = Sequence[tuple[str, str, int, float]]  # (metric, dimension, count, seconds)
DaySums = Sequence[tuple[str, date, int, float]]  # (metric, day, count, seconds)


def by_dimension(rows: Sums, metric: str) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for name, dimension, count, _seconds in rows:
        if name == metric:
            found[dimension] += count
    return dict(found)


def build(
    in_range: Sums, per_day: DaySums, *, start: date, end: date, bucket: str
) -> tuple[list[Figure], list[Table], list[Chart]]:
    """The mail report's figures, tables and charts."""
    totals = {metric: sum(by_dimension(in_range, metric).values()) for metric in METRICS}
    bounces = by_dimension(in_range, BOUNCED)
    found_figures = [Figure(metric.removeprefix("mail_"), LABELS[metric], totals[metric]) for metric in METRICS]
    found_figures[3:3] = [
        Figure("bounced_hard", msgid("Hard bounces"), bounces.get("hard", 0)),
        Figure("bounced_soft", msgid("Soft bounces"), sum(bounces.get(kind, 0) for kind in SOFT_KINDS)),
    ]
    found_figures.append(
        Figure(
            "delivery_rate", msgid("Delivered (share of sent)"), figures.ratio(totals[DELIVERED], totals[SENT]), "ratio"
        )
    )
    over_time = _over_time(per_day, start=start, end=end, bucket=bucket)
    tables = [over_time, _kind_table(in_range), _bounce_table(bounces), _suppressed_table(in_range)]
    charts = [
        Chart(
            "over_time",
            msgid("Mail over time"),
            "series",
            [row["bucket"] for row in over_time.rows],
            [(LABELS[m], [row[m.removeprefix("mail_")] for row in over_time.rows]) for m in METRICS],
        ),
        Chart(
            "bounces",
            msgid("Bounces by kind"),
            "pie",
            [BOUNCE_LABELS[kind] for kind in BOUNCE_KINDS],
            [(LABELS[BOUNCED], [bounces.get(kind, 0) for kind in BOUNCE_KINDS])],
        ),
    ]
    return found_figures, tables, charts


def _over_time(per_day: DaySums, *, start: date, end: date, bucket: str) -> Table:
    series = {
        metric: figures.series(
            {day: float(count) for name, day, count, _s in per_day if name == metric}, start, end, bucket
        )
        for metric in METRICS
    }
    rows = [
        {"bucket": first.isoformat(), **{m.removeprefix("mail_"): int(series[m][n][1]) for m in METRICS}}
        for n, (first, _value) in enumerate(series[SENT])
    ]
    columns = [Column("bucket", msgid("Period"), "date")]
    columns += [Column(metric.removeprefix("mail_"), LABELS[metric]) for metric in METRICS]
    return Table("over_time", msgid("Mail over time"), columns, rows)


def _kind_table(in_range: Sums) -> Table:
    sent, delivered = by_dimension(in_range, SENT), by_dimension(in_range, DELIVERED)
    kinds = sorted(set(sent) | set(delivered), key=lambda kind: (kind == "", kind))
    rows = [
        {
            "kind": kind,
            "label": KIND_LABELS.get(kind, kind),
            "sent": sent.get(kind, 0),
            "delivered": delivered.get(kind, 0),
            "delivery_rate": figures.ratio(delivered.get(kind, 0), sent.get(kind, 0)),
        }
        for kind in kinds
    ]
    columns = [
        Column("kind", msgid("Kind"), "text"),
        Column("label", msgid("Name"), "text"),
        Column("sent", LABELS[SENT]),
        Column("delivered", LABELS[DELIVERED]),
        Column("delivery_rate", msgid("Delivered (share of sent)"), "ratio"),
    ]
    return Table("by_kind", msgid("Mail by kind"), columns, rows)


def _bounce_table(bounces: dict[str, int]) -> Table:
    kinds = [*BOUNCE_KINDS, *sorted(set(bounces) - set(BOUNCE_KINDS))]
    rows = [{"kind": kind, "label": BOUNCE_LABELS.get(kind, kind), "bounces": bounces.get(kind, 0)} for kind in kinds]
    columns = [Column("kind", msgid("Kind"), "text"), Column("label", msgid("Name"), "text")]
    return Table("bounces", msgid("Bounces by kind"), [*columns, Column("bounces", LABELS[BOUNCED])], rows)


def _suppressed_table(in_range: Sums) -> Table:
    reasons = by_dimension(in_range, SUPPRESSED)
    rows = [{"reason": reason, "messages": reasons[reason]} for reason in sorted(reasons)]
    columns = [Column("reason", msgid("Reason"), "text"), Column("messages", LABELS[SUPPRESSED])]
    return Table("suppressed", msgid("Suppressed by reason"), columns, rows)
