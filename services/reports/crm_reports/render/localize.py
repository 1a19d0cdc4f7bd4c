"""A report with its labels in the caller's language: every output renders the report this returns. No I/O.

The labels are English msgids (title, figures, tables, columns, charts, series, notes, and the categories of a
pie, bars or funnel, e.g. a channel); a text nobody translated (a member's or a stage's name, already in the
workspace's words) passes unchanged. Table cells are data, never translated; the buckets of a series are dates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from crm_reports.report import Chart, Report, Table

Translate = Callable[[str], str]


def localize(report: Report, translate: Translate) -> Report:
    return replace(
        report,
        title=translate(report.title),
        figures=[replace(figure, label=translate(figure.label)) for figure in report.figures],
        tables=[_table(table, translate) for table in report.tables],
        charts=[_chart(chart, translate) for chart in report.charts],
        notes=[translate(note) for note in report.notes],
    )


def _table(table: Table, translate: Translate) -> Table:
    columns = [replace(column, label=translate(column.label)) for column in table.columns]
    return replace(table, label=translate(table.label), columns=columns)


def _chart(chart: Chart, translate: Translate) -> Chart:
    categories = chart.categories if chart.kind == "series" else [translate(c) for c in chart.categories]
    series = [(translate(name), values) for name, values in chart.series]
    return replace(chart, label=translate(chart.label), categories=categories, series=series)
