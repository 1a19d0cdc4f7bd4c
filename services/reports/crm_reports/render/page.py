"""A report as one self-contained HTML page: inline CSS, the charts inlined, no script and nothing fetched. No I/O.

An admin opens it, prints it or mails it as it is. The charts are the same SVG the chart route serves, inlined as
``data:`` images: each stays one picture (it prints and scales as one, the page's CSS cannot restyle it, and the
ids inside two charts never meet in one document). The page is rendered by Jinja with autoescape on, so a label
or a cell is always text, never markup."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2
from babel.dates import format_datetime

from crm_platform.errors import msgid
from crm_reports.render import formats
from crm_reports.report import Report

NUMERIC = ("count", "seconds", "ratio")
WORDS = {
    "figures": msgid("Figures"),
    "charts": msgid("Charts"),
    "notes": msgid("Notes"),
    "no_rows": msgid("No rows in this period."),
}
BUCKETS = {"day": msgid("By day"), "week": msgid("By week"), "month": msgid("By month")}
SCOPE = msgid("Only member {member}")
GENERATED = msgid("Generated {when}")
PERIOD = msgid("{start} to {end}")
SPREAD = msgid("median {median} · p90 {p90}")


@functools.cache
def _template() -> jinja2.Template:
    source = resources.files("crm_reports.render").joinpath("page.html").read_text(encoding="utf-8")
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(source)


def html(
    report: Report,
    *,
    locale: str,
    translate: Callable[..., str],
    charts: Mapping[str, bytes],
    now: datetime,
) -> str:
    """The page of a localized ``report``; ``charts`` holds each chart's SVG by key, in the report's order."""
    period = translate(
        PERIOD, {"start": formats.day(report.range.start, locale), "end": formats.day(report.range.end, locale)}
    )
    return _template().render(
        report=report,
        locale=locale,
        period=period,
        zone=str(report.range.zone),
        scope=translate(SCOPE, {"member": report.member_id}) if report.member_id else "",
        bucket=translate(BUCKETS[report.bucket]) if report.bucket in BUCKETS else "",
        words={name: translate(text) for name, text in WORDS.items()}
        | {"generated": translate(GENERATED, {"when": _when(now, report, locale)})},
        figures=[_figure(figure, locale, translate) for figure in report.figures],
        charts=[
            {"key": chart.key, "label": chart.label, "src": data_uri(charts[chart.key])}
            for chart in report.charts
            if chart.key in charts
        ],
        tables=[_table(table, locale) for table in report.tables],
    )


def data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _figure(figure: Any, locale: str, translate: Callable[..., str]) -> dict[str, str]:
    detail = ""
    if figure.unit == "seconds" and (figure.median is not None or figure.p90 is not None):
        detail = translate(
            SPREAD,
            {
                "median": formats.value(figure.median, "seconds", locale),
                "p90": formats.value(figure.p90, "seconds", locale),
            },
        )
    return {"label": figure.label, "value": formats.value(figure.value, figure.unit, locale), "detail": detail}


def _table(table: Any, locale: str) -> dict[str, Any]:
    columns = [{"label": c.label, "numeric": c.unit in NUMERIC} for c in table.columns]
    rows = [
        [(formats.value(row.get(c.key), c.unit, locale), c.unit in NUMERIC) for c in table.columns]
        for row in table.rows
    ]
    return {"label": table.label, "columns": columns, "rows": rows}


def _when(now: datetime, report: Report, locale: str) -> str:
    return format_datetime(now.astimezone(report.range.zone), format="medium", locale=locale)
