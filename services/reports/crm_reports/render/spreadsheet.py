"""One table of a report as a CSV file a spreadsheet opens safely: UTF-8 with a BOM, no formula ever run. No I/O.

A cell a spreadsheet would read as a formula (text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) gets a leading single quote, as OWASP's "CSV Injection" page advises; real numbers are written as
numbers, so ``-2`` the count stays a number and ``"-2"`` the text becomes ``'-2``. A duration column gives two:
the seconds (to compute with) and the same time as ``1h 02m 05s`` (to read)."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable
from typing import Any

from crm_platform.errors import msgid
from crm_reports.render import formats
from crm_reports.report import Report, Table

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SECONDS = msgid("{label} (seconds)")
READABLE = msgid("{label} (readable)")


def cell(value: Any) -> str:
    """A value as one CSV cell, never a formula."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(round(value, 4))
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows(table: Table, translate: Callable[..., str]) -> list[list[str]]:
    """The header (the columns' labels, already in the reader's language) and one line per row."""
    header: list[str] = []
    for column in table.columns:
        if column.unit == "seconds":
            header += [translate(SECONDS, {"label": column.label}), translate(READABLE, {"label": column.label})]
        else:
            header.append(column.label)
    lines = [[cell(text) for text in header]]
    for row in table.rows:
        line: list[str] = []
        for column in table.columns:
            raw = row.get(column.key)
            line.append(cell(raw))
            if column.unit == "seconds":
                line.append(cell(formats.duration(raw) if isinstance(raw, int | float) else raw))
        lines.append(line)
    return lines


def table_csv(table: Table, translate: Callable[..., str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows(table, translate))
    return out.getvalue().encode("utf-8-sig")  # the BOM tells Excel the file is UTF-8


def filename(report: Report, table: Table) -> str:
    """``conversations-by_member-2026-03-01-2026-03-31.csv``: ASCII only, safe in any header."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{report.key}-{table.key}")
    return f"{safe}-{report.range.start.isoformat()}-{report.range.end.isoformat()}.csv"
