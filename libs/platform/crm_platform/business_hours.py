"""Business hours: a workspace's calendar (opening hours per weekday in its time zone, and holidays), and business
time counted on it. Plain functions, no I/O; tickets' SLAs and the reports' response and close times use them.

A calendar says when a team works: intervals per weekday in wall-clock time of an IANA time zone
(``09:00``-``17:00``; ``24:00`` ends a day), and holidays (local dates with no business time at all).
Business time is real elapsed time inside those intervals: each interval's ends are turned into instants
with ``zoneinfo``, so a day on which the clocks change still counts what the wall clock says (09:00-17:00 is
eight hours), and a 24/7 calendar counts the 23 or 25 hours such a day really has.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from crm_platform.errors import FieldError, InvalidInput, msgid, phrase

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
MAX_INTERVALS_PER_DAY = 10
MAX_HOLIDAYS = 1000
# No calendar may need longer than this to count an amount of business time: it bounds the walk over days (a
# calendar whose only business day is a holiday every year would otherwise never end).
MAX_DAYS_WALKED = 20 * 366
INVALID = msgid("the business hours have invalid fields")


@dataclass(frozen=True)
class Calendar:
    """When business time runs: ``hours[weekday]`` (0 = Monday) are sorted, disjoint ``(start, end)`` minutes
    of the local day (0 <= start < end <= 1440), in ``time_zone``; ``holidays`` are local dates."""

    time_zone: str = "UTC"
    hours: Mapping[int, tuple[tuple[int, int], ...]] = field(
        default_factory=lambda: {day: ((9 * 60, 17 * 60),) for day in range(5)}
    )
    holidays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


ALWAYS = Calendar(hours={day: ((0, DAY_MINUTES),) for day in range(7)})  # 24/7 in UTC


# --- business time -------------------------------------------------------------------------------------


def _instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local day's minute (1440: the next day's midnight). A wall time the clocks skip
    (spring forward) reads as the time before the change would say, as ``zoneinfo`` does with fold=0."""
    # Arithmetic on an aware datetime is wall-clock arithmetic; zoneinfo gives the offset of the result's own
    # wall time, so 09:00 on the day the clocks change has that day's offset.
    local = datetime.combine(day, time(), tzinfo=zone) + timedelta(minutes=minute)
    return local.astimezone(UTC)


def _business_intervals(start: datetime, calendar: Calendar) -> Iterable[tuple[datetime, datetime]]:
    """The calendar's business intervals as UTC instants, from the local day of ``start`` on."""
    zone = calendar.zone
    day = start.astimezone(zone).date()
    if not any(calendar.hours.get(weekday) for weekday in range(7)):
        raise ValueError("the calendar has no business hours")
    for _ in range(MAX_DAYS_WALKED):
        if day not in calendar.holidays:
            for opens, closes in calendar.hours.get(day.weekday(), ()):
                yield _instant(day, opens, zone), _instant(day, closes, zone)
        day += timedelta(days=1)
    raise ValueError(f"the calendar has no business time within {MAX_DAYS_WALKED} days")


def add_business_time(start: datetime, amount: timedelta, calendar: Calendar) -> datetime:
    """The instant at which ``amount`` of business time has passed since ``start`` (aware, any zone)."""
    start = start.astimezone(UTC)
    if amount <= timedelta(0):
        return start
    remaining = amount
    for opens, closes in _business_intervals(start, calendar):
        if closes <= start:
            continue
        opens = max(opens, start)
        available = closes - opens
        if available >= remaining:
            return opens + remaining
        remaining -= available
    raise AssertionError("unreachable: _business_intervals raises when it runs out")  # pragma: no cover


def add_business_minutes(start: datetime, minutes: int, calendar: Calendar) -> datetime:
    """``start`` plus ``minutes`` of the calendar's business time, as a UTC instant."""
    return add_business_time(start, timedelta(minutes=minutes), calendar)


def business_time_between(start: datetime, end: datetime, calendar: Calendar) -> timedelta:
    """How much business time lies between two instants (zero when ``end`` is not after ``start``)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in _business_intervals(start, calendar):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return total


# --- checking an admin's calendar ---------------------------------------------------------------------


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _invalid(field_name: str, message: str, code: str) -> InvalidInput:
    """``message``: a ``msgid`` or a ``phrase``, so the catalogs know it."""
    return InvalidInput(INVALID, errors=[FieldError(field_name, message, code)])


def parse_clock(value: str, field_name: str) -> int:
    """``HH:MM`` (00:00 to 24:00) as minutes of the day."""
    hours, sep, minutes = value.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()):
        raise _invalid(field_name, msgid("must be a time as HH:MM"), "invalid_time")
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > DAY_MINUTES:
        raise _invalid(field_name, msgid("must be a time from 00:00 to 24:00"), "invalid_time")
    return total


def check_time_zone(name: str, field_name: str = "time_zone") -> str:
    if name not in _zones():
        raise _invalid(field_name, msgid("must be an IANA time zone, e.g. Europe/Madrid"), "invalid_time_zone")
    return name


def check_calendar(
    time_zone: str,
    hours: Mapping[str, Sequence[tuple[str, str]]],
    holidays: Sequence[date],
    *,
    detail: str = INVALID,
) -> Calendar:
    """A calendar from an admin's input: weekday names to ``(from, to)`` times, sorted and not overlapping.
    ``detail`` (a msgid) names what has invalid fields (the SLA settings, the business hours)."""
    try:
        return _checked_calendar(time_zone, hours, holidays)
    except InvalidInput as error:
        if detail == INVALID:
            raise
        raise InvalidInput(detail, errors=error.errors) from None


def _checked_calendar(
    time_zone: str, hours: Mapping[str, Sequence[tuple[str, str]]], holidays: Sequence[date]
) -> Calendar:
    check_time_zone(time_zone)
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise _invalid(
            f"business_hours.{unknown[0]}",
            phrase("must be one of {choices}", choices=", ".join(WEEKDAYS)),
            "invalid_choice",
        )
    parsed: dict[int, tuple[tuple[int, int], ...]] = {}
    for weekday, name in enumerate(WEEKDAYS):
        intervals = list(hours.get(name, ()))
        if len(intervals) > MAX_INTERVALS_PER_DAY:
            raise _invalid(
                f"business_hours.{name}",
                phrase("at most {count} intervals a day", count=MAX_INTERVALS_PER_DAY),
                "too_many",
            )
        day: list[tuple[int, int]] = []
        for index, (opens, closes) in enumerate(intervals):
            where = f"business_hours.{name}.{index}"
            start, end = parse_clock(opens, f"{where}.from"), parse_clock(closes, f"{where}.to")
            if start >= end:
                raise _invalid(f"{where}.to", msgid("must be after from"), "invalid_interval")
            day.append((start, end))
        day.sort()
        for (_, earlier_end), (later_start, _) in itertools.pairwise(day):
            if later_start < earlier_end:
                raise _invalid(f"business_hours.{name}", msgid("intervals must not overlap"), "overlapping_intervals")
        if day:
            parsed[weekday] = tuple(day)
    if not parsed:
        raise _invalid("business_hours", msgid("at least one weekday needs business hours"), "required")
    if len(set(holidays)) > MAX_HOLIDAYS:
        raise _invalid("holidays", phrase("at most {count} holidays", count=MAX_HOLIDAYS), "too_many")
    return Calendar(time_zone=time_zone, hours=parsed, holidays=frozenset(holidays))


def calendar_hours_out(calendar: Calendar) -> dict[str, list[dict[str, str]]]:
    """The calendar's hours as the API shows them: every weekday, with its intervals as HH:MM."""

    def clock(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    return {
        name: [{"from": clock(start), "to": clock(end)} for start, end in calendar.hours.get(weekday, ())]
        for weekday, name in enumerate(WEEKDAYS)
    }


def calendar_as_json(calendar: Calendar) -> dict[str, Any]:
    """The calendar's hours and holidays as JSON to keep (its time zone is kept apart, where it lives)."""
    return {
        "business_hours": {
            day: [[span["from"], span["to"]] for span in spans] for day, spans in calendar_hours_out(calendar).items()
        },
        "holidays": sorted(day.isoformat() for day in calendar.holidays),
    }


def calendar_from_json(kept: Mapping[str, Any], time_zone: str) -> Calendar:
    """The calendar ``calendar_as_json`` kept, in ``time_zone``."""
    return check_calendar(
        time_zone,
        {day: [(opens, closes) for opens, closes in spans] for day, spans in kept["business_hours"].items()},
        [date.fromisoformat(day) for day in kept["holidays"]],
    )
