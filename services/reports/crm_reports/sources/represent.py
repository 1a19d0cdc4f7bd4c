"""The sources report made from the numbers read for it. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crm_platform.errors import msgid
from crm_reports import figures
from crm_reports.ranges import DateRange
from crm_reports.report import Chart, Column, Figure, Report, Table

NO_SOURCE = msgid("No source")


@dataclass(frozen=True)
class Numbers:
    now: Mapping[str, int]  # source -> contacts on the range's last day
    created: Mapping[str, int]  # source -> contacts created in the range
    won: Mapping[str, int]  # source -> contacts won in the range


def source_rows(names: Mapping[str, tuple[str, str]], numbers: Numbers) -> list[dict[str, Any]]:
    """One row per source that has a figure, most new contacts first; ``name_es`` beside the English name."""
    keys = {key for found in (numbers.now, numbers.created, numbers.won) for key, count in found.items() if count}
    total_created = sum(numbers.created.values())
    rows = []
    for key in keys:
        name, name_es = names.get(key, (key, "")) if key else (NO_SOURCE, "")
        rows.append(
            {
                "source_id": key,
                "source": name,
                "name_es": name_es,
                "contacts": numbers.now.get(key, 0),
                "created": numbers.created.get(key, 0),
                "share": figures.ratio(numbers.created.get(key, 0), total_created),
                "won": numbers.won.get(key, 0),
            }
        )
    return sorted(
        rows,
        key=lambda row: (
            -int(row["created"]),
            -int(row["contacts"]),
            row["source_id"] == "",
            str(row["source"]).lower(),
        ),
    )


def report(
    *,
    title: str,
    span: DateRange,
    bucket: str,
    member_id: str | None,
    names: Mapping[str, tuple[str, str]],
    numbers: Numbers,
) -> Report:
    rows = source_rows(names, numbers)
    return Report(
        key="sources",
        title=title,
        range=span,
        bucket=bucket,
        member_id=member_id,
        figures=[
            Figure("contacts", msgid("Contacts on the last day"), sum(numbers.now.values())),
            Figure("created", msgid("New contacts"), sum(numbers.created.values())),
            Figure("won", msgid("Won"), sum(numbers.won.values())),
        ],
        tables=[
            Table(
                "sources",
                msgid("Sources"),
                [
                    Column("source", msgid("Source"), "text"),
                    Column("contacts", msgid("Contacts on the last day")),
                    Column("created", msgid("New contacts")),
                    Column("share", msgid("Share of new contacts"), "ratio"),
                    Column("won", msgid("Won")),
                ],
                rows,
            )
        ],
        charts=[
            Chart(
                "sources",
                msgid("New and won contacts per source"),
                "bars",
                [str(row["source"]) for row in rows],
                [
                    (msgid("New contacts"), [float(row["created"]) for row in rows]),
                    (msgid("Won"), [float(row["won"]) for row in rows]),
                ],
            )
        ],
        notes=[msgid("A contact counts for the source it had when it was created, won, or on the range's last day.")],
    )
