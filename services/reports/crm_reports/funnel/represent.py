"""The funnel report made from the numbers read for it: conversion, the per-stage, per-type and per-owner
tables and the charts. Pure functions, no I/O (``service`` reads the numbers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crm_platform.errors import msgid
from crm_reports import figures
from crm_reports.figures import Stats
from crm_reports.funnel import rules
from crm_reports.labels.rules import Stage
from crm_reports.ranges import DateRange
from crm_reports.report import Chart, Column, Figure, Report, Table

WON_EXIT = rules.WON_STATUS
UNASSIGNED = msgid("Unassigned")
NO_STAGE_TIMES = Stats(0, None, (None, None))


@dataclass(frozen=True)
class Numbers:
    """What the rollups and durations hold for the report's range, caller and member.

    ``now`` and ``now_by_owner``: the stocks as of the range's last day; the rest: over the range."""

    now: Mapping[str, Mapping[str, int]]  # OPEN_STAGE / OPEN_TYPE -> dimension -> contacts
    flows: Mapping[str, Mapping[str, int]]  # CREATED, WON, LOST, ENTERED, EXITED, WON_AFTER -> dimension -> count
    daily: Mapping[str, Mapping[date, float]]  # WON / LOST -> day -> count
    now_by_owner: Mapping[str, int]
    flows_by_owner: Mapping[str, Mapping[str, int]]  # CREATED / WON / LOST -> owner -> count
    stage_times: Mapping[str, Stats] = field(default_factory=dict)  # stage -> the stays that ended in the range
    all_stage_times: Stats = NO_STAGE_TIMES


def in_order(order: Sequence[Stage], *seen: Mapping[str, int]) -> list[Stage]:
    """The funnel's stages in order, then any a figure names that the funnel no longer lists (by id)."""
    known = {stage.key for stage in order}
    extra = sorted({key for found in seen for key in found if key and key not in known})
    return [*order, *(Stage(key, key, 0, "", "", len(order) + 1) for key in extra)]


def forward_exits(order: Sequence[Stage], exits: Mapping[str, int]) -> dict[str, int]:
    """Per stage, the stays that left it forward: to a later stage of its type, or won."""
    place = {stage.key: (stage.type_key, stage.position) for stage in order}
    forward: dict[str, int] = {}
    for dimension, count in exits.items():
        stage, exit = rules.split_exit(dimension)
        here, there = place.get(stage), place.get(exit)
        moved_on = exit == WON_EXIT or (
            here is not None and there is not None and here[0] == there[0] and there[1] > here[1]
        )
        if moved_on:
            forward[stage] = forward.get(stage, 0) + count
    return forward


def stage_rows(order: Sequence[Stage], numbers: Numbers) -> list[dict[str, Any]]:
    entered = numbers.flows.get(rules.ENTERED, {})
    won_after = numbers.flows.get(rules.WON_AFTER, {})
    now = numbers.now.get(rules.OPEN_STAGE, {})
    forward = forward_exits(order, numbers.flows.get(rules.EXITED, {}))
    rows = []
    for stage in in_order(order, now, entered):
        times = numbers.stage_times.get(stage.key, NO_STAGE_TIMES)
        rows.append(
            {
                "stage_id": stage.key,
                "type": stage.type_name,
                "stage": stage.name,
                "contacts": now.get(stage.key, 0),
                "entered": entered.get(stage.key, 0),
                "to_next": figures.ratio(forward.get(stage.key, 0), entered.get(stage.key, 0)),
                "to_won": figures.ratio(won_after.get(stage.key, 0), entered.get(stage.key, 0)),
                "time_average": times.average,
                "time_median": times.median,
                "time_p90": times.percentiles[1] if len(times.percentiles) > 1 else None,
            }
        )
    return rows


def type_rows(order: Sequence[Stage], type_names: Mapping[str, str], numbers: Numbers) -> list[dict[str, Any]]:
    now = numbers.now.get(rules.OPEN_TYPE, {})
    created, won, lost = (numbers.flows.get(metric, {}) for metric in (rules.CREATED, rules.WON, rules.LOST))
    keys = list(dict.fromkeys([stage.type_key for stage in order if stage.type_key] + sorted(type_names)))
    keys += sorted({key for found in (now, created, won, lost) for key in found if key and key not in keys})
    return [
        {
            "type_key": key,
            "type": type_names.get(key, key),
            "contacts": now.get(key, 0),
            "created": created.get(key, 0),
            "won": won.get(key, 0),
            "lost": lost.get(key, 0),
        }
        for key in keys
        if now.get(key, 0) or created.get(key, 0) or won.get(key, 0) or lost.get(key, 0) or key in type_names
    ]


def owner_rows(member_names: Mapping[str, str], numbers: Numbers) -> list[dict[str, Any]]:
    by = numbers.flows_by_owner
    created, won, lost = (by.get(metric, {}) for metric in (rules.CREATED, rules.WON, rules.LOST))
    owners = sorted(
        {key for found in (numbers.now_by_owner, created, won, lost) for key, count in found.items() if count},
        key=lambda key: (key == "", member_names.get(key, key).lower(), key),
    )
    return [
        {
            "member_id": owner,
            "member": member_names.get(owner, owner) if owner else UNASSIGNED,
            "contacts": numbers.now_by_owner.get(owner, 0),
            "created": created.get(owner, 0),
            "won": won.get(owner, 0),
            "lost": lost.get(owner, 0),
            "win_rate": figures.ratio(won.get(owner, 0), won.get(owner, 0) + lost.get(owner, 0)),
        }
        for owner in owners
    ]


def _total(found: Mapping[str, int]) -> int:
    return sum(found.values())


def report(
    *,
    title: str,
    span: DateRange,
    bucket: str,
    member_id: str | None,
    order: Sequence[Stage],
    type_names: Mapping[str, str],
    member_names: Mapping[str, str],
    numbers: Numbers,
) -> Report:
    won, lost = _total(numbers.flows.get(rules.WON, {})), _total(numbers.flows.get(rules.LOST, {}))
    stages = stage_rows(order, numbers)
    several_types = len({row["type"] for row in stages}) > 1
    funnel_labels = [
        f"{row['type']}: {row['stage']}" if several_types and row["type"] else str(row["stage"]) for row in stages
    ]
    times = numbers.all_stage_times
    days = {
        metric: figures.series(numbers.daily.get(metric, {}), span.start, span.end, bucket)
        for metric in (rules.WON, rules.LOST)
    }
    return Report(
        key="funnel",
        title=title,
        range=span,
        bucket=bucket,
        member_id=member_id,
        figures=[
            Figure(
                "contacts",
                msgid("Contacts in the funnel on the last day"),
                _total(numbers.now.get(rules.OPEN_TYPE, {})),
            ),
            Figure("created", msgid("New contacts"), _total(numbers.flows.get(rules.CREATED, {}))),
            Figure("won", msgid("Won"), won),
            Figure("lost", msgid("Lost"), lost),
            Figure("win_rate", msgid("Won of those won or lost"), figures.ratio(won, won + lost), "ratio"),
            Figure(
                "stage_time", msgid("Time in a stage"), times.average, "seconds", times.median, times.percentiles[1]
            ),
        ],
        tables=[
            Table(
                "stages",
                msgid("Stages"),
                [
                    Column("type", msgid("Type"), "text"),
                    Column("stage", msgid("Stage"), "text"),
                    Column("contacts", msgid("Contacts on the last day")),
                    Column("entered", msgid("Entered")),
                    Column("to_next", msgid("Moved on to a later stage or won"), "ratio"),
                    Column("to_won", msgid("Won later"), "ratio"),
                    Column("time_average", msgid("Average time in the stage"), "seconds"),
                    Column("time_median", msgid("Median time in the stage"), "seconds"),
                    Column("time_p90", msgid("90th percentile time in the stage"), "seconds"),
                ],
                stages,
            ),
            Table(
                "types",
                msgid("Contact types"),
                [
                    Column("type", msgid("Type"), "text"),
                    Column("contacts", msgid("Contacts on the last day")),
                    Column("created", msgid("New contacts")),
                    Column("won", msgid("Won")),
                    Column("lost", msgid("Lost")),
                ],
                type_rows(order, type_names, numbers),
            ),
            Table(
                "owners",
                msgid("Owners"),
                [
                    Column("member", msgid("Owner"), "text"),
                    Column("contacts", msgid("Contacts on the last day")),
                    Column("created", msgid("New contacts")),
                    Column("won", msgid("Won")),
                    Column("lost", msgid("Lost")),
                    Column("win_rate", msgid("Won of those won or lost"), "ratio"),
                ],
                owner_rows(member_names, numbers),
            ),
        ],
        charts=[
            Chart(
                "funnel",
                msgid("Contacts per stage"),
                "funnel",
                funnel_labels,
                [(msgid("Contacts"), [float(row["contacts"]) for row in stages])],
            ),
            Chart(
                "won_lost",
                msgid("Won and lost"),
                "series",
                [day.isoformat() for day, _ in days[rules.WON]],
                [
                    (msgid("Won"), [value for _, value in days[rules.WON]]),
                    (msgid("Lost"), [value for _, value in days[rules.LOST]]),
                ],
            ),
        ],
        notes=[
            msgid("Contacts per stage: those active in it on the last day (won and lost are statuses, not stages)."),
            msgid(
                "Conversion: of the contacts that entered a stage in the range; time: of the stays that ended in it."
            ),
        ],
    )
