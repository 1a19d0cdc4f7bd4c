"""The CSV of a table: a cell a spreadsheet would run as a formula is made text; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from crm_reports.ranges import DateRange
from crm_reports.render import spreadsheet
from crm_reports.render.spreadsheet import cell
from crm_reports.report import Column, Report, Table


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://evil.test","x")', '\'=HYPERLINK("http://evil.test","x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ana = Luis", "Ana = Luis"),  # only the first character makes a formula
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_a_leading_quote(text: str, written: str) -> None:
    assert cell(text) == written


@pytest.mark.parametrize(("number", "written"), [(-2, "-2"), (3, "3"), (-2.5, "-2.5"), (4.0, "4"), (1 / 3, "0.3333")])
def test_numbers_stay_numbers_even_when_negative(number: float, written: str) -> None:
    assert cell(number) == written


def test_missing_and_impossible_values_are_empty_cells() -> None:
    assert [cell(None), cell(float("nan")), cell(float("inf")), cell(True)] == ["", "", "", "true"]


def test_a_duration_column_gives_seconds_and_a_readable_time() -> None:
    table = Table(
        "t",
        "T",
        [Column("who", "Who", "text"), Column("wait", "Wait", "seconds")],
        [{"who": "Ana", "wait": 90061.0}, {"who": "-Luis", "wait": None}],
    )
    lines = spreadsheet.rows(table, lambda template, params: template.format(**params))

    assert lines == [
        ["Who", "Wait (seconds)", "Wait (readable)"],
        ["Ana", "90061", "1d 01h 01m"],
        ["'-Luis", "", ""],
    ]


def test_the_file_is_utf8_with_a_bom_and_quotes_what_needs_quoting() -> None:
    table = Table("t", "T", [Column("who", "Who", "text")], [{"who": 'López, "Ana"'}])
    body = spreadsheet.table_csv(table, lambda template, params=None: template)

    assert body.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig")))) == [["Who"], ['López, "Ana"']]
    assert body.endswith(b"\r\n")


def test_the_file_name_is_ascii_and_names_the_range() -> None:
    span = DateRange(date(2026, 3, 1), date(2026, 3, 31), ZoneInfo("UTC"))
    report = Report("funnel", "F", span, "day", None)
    table = Table('by "stage"/é', "S", [], [])
    assert spreadsheet.filename(report, table) == "funnel-by_stage_-2026-03-01-2026-03-31.csv"
