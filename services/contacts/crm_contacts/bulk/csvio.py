"""CSV in and out: numbered records of an uploaded file, and export rows as properly quoted text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

# The columns of an export, in order; custom fields follow as cf.<key>.
EXPORT_COLUMNS = (
    "id",
    "name",
    "email",
    "phone",
    "emails",
    "phones",
    "type",
    "stage",
    "status",
    "owner",
    "source",
    "tags",
    "stars",
    "created_at",
)
LIST_JOINER = ";"


def records(handle: IO[str]) -> Iterator[tuple[int, list[str]]]:
    """(row number, values) of each non-blank record; the header is row 1, as a spreadsheet counts them."""
    for number, record in enumerate(csv.reader(handle), start=1):
        if any(value.strip() for value in record):
            yield number, record


def count_records(path: Path) -> int:
    """How many data rows (non-blank records after the header) the file holds."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return max(sum(1 for _ in records(handle)) - 1, 0)


def read_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(records(handle), (0, []))[1]


def export_columns(custom_keys: Sequence[str], chosen: Sequence[str] | None) -> list[str]:
    """The export's columns: all of them, or the chosen ones in the order given."""
    available = [*EXPORT_COLUMNS, *(f"cf.{key}" for key in custom_keys)]
    return list(chosen) if chosen else available


def unknown_columns(custom_keys: Sequence[str], chosen: Sequence[str]) -> list[str]:
    available = {*EXPORT_COLUMNS, *(f"cf.{key}" for key in custom_keys)}
    return [column for column in chosen if column not in available]


def text_of(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV text (RFC 4180 quoting, \\r\\n line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    return buffer.getvalue()


def cell(value: Any) -> str:
    """A value as export text: lists joined with ``;``, booleans as true/false, None as empty, and text a
    spreadsheet would run as a formula neutralised (see ``neutralised``)."""
    if type(value) is str:  # most cells: checked first, an export calls this tens of millions of times
        return neutralised(value) if value[:1] in FORMULA_TRIGGERS else value
    text = _text(value)
    return neutralised(text) if text[:1] in FORMULA_TRIGGERS else text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return LIST_JOINER.join(v if type(v) is str else _text(v) for v in value)
    return str(value)


# OWASP's CSV injection rule: a cell starting with one of these is run as a formula by spreadsheets,
# so it is written with a leading apostrophe (shown as text, not run). A plain number such as an E.164
# phone (+34612345678) or -3 cannot be a formula and is left as it is.
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")


def neutralised(text: str) -> str:
    if text[:1] in FORMULA_TRIGGERS and text and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
