"""Business hours (crm_platform.business_hours): adding minutes and counting them across nights, weekends,
holidays, time zones and the days the clocks change, on plain calendars (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_platform.business_hours import (
    ALWAYS,
    Calendar,
    add_business_minutes,
    business_time_between,
)

OFFICE = Calendar()  # Monday to Friday, 09:00-17:00 UTC
MADRID = ZoneInfo("Europe/Madrid")
MADRID_OFFICE = Calendar(time_zone="Europe/Madrid")
LUNCH_BREAK = Calendar(hours={day: ((9 * 60, 13 * 60), (14 * 60, 18 * 60)) for day in range(5)})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def madrid(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        ("2026-11-30 10:00", 60, "2026-11-30 11:00"),  # Monday, inside the day
        ("2026-11-30 16:30", 60, "2026-12-01 09:30"),  # overnight
        ("2026-11-30 07:00", 30, "2026-11-30 09:30"),  # before opening
        ("2026-11-30 19:00", 30, "2026-12-01 09:30"),  # after closing
        ("2026-12-04 16:00", 120, "2026-12-07 10:00"),  # Friday into Monday, over the weekend
        ("2026-12-05 12:00", 30, "2026-12-07 09:30"),  # on a Saturday
        ("2026-11-30 09:00", 3 * 480 + 60, "2026-12-03 10:00"),  # several days
        ("2026-11-30 09:00", 10 * 480, "2026-12-11 17:00"),  # two weeks, ending at closing time
        ("2026-11-30 17:00", 1, "2026-12-01 09:01"),  # at closing time exactly
    ],
)
def test_minutes_are_added_in_business_hours_only(start: str, minutes: int, due: str) -> None:
    assert add_business_minutes(utc(start), minutes, OFFICE) == utc(due)


def test_holidays_have_no_business_time() -> None:
    christmas = Calendar(holidays=frozenset({date(2026, 12, 25), date(2026, 12, 28)}))

    # Thursday 24th 16:00 + 2 hours: one hour on Thursday, Friday and Monday are holidays, Tuesday 10:00.
    assert add_business_minutes(utc("2026-12-24 16:00"), 120, christmas) == utc("2026-12-29 10:00")
    assert add_business_minutes(utc("2026-12-24 16:00"), 120, OFFICE) == utc("2026-12-25 10:00")


def test_a_day_with_a_break_counts_both_intervals() -> None:
    assert add_business_minutes(utc("2026-11-30 12:30"), 60, LUNCH_BREAK) == utc("2026-11-30 14:30")
    assert add_business_minutes(utc("2026-11-30 13:15"), 30, LUNCH_BREAK) == utc("2026-11-30 14:30")


def test_a_24_7_calendar_counts_every_minute() -> None:
    assert add_business_minutes(utc("2026-12-05 23:00"), 120, ALWAYS) == utc("2026-12-06 01:00")
    assert add_business_minutes(utc("2026-11-30 00:00"), 7 * 1440, ALWAYS) == utc("2026-12-07 00:00")


def test_business_hours_are_the_time_zones_wall_clock() -> None:
    # Madrid is UTC+1 in winter: 09:00-17:00 there is 08:00-16:00 UTC.
    assert add_business_minutes(utc("2026-11-30 07:00"), 60, MADRID_OFFICE) == utc("2026-11-30 09:00")
    assert add_business_minutes(utc("2026-11-30 15:30"), 60, MADRID_OFFICE) == utc("2026-12-01 08:30")


def test_business_hours_follow_the_clock_change_of_spring() -> None:
    # Friday 27 March 2026, 16:00 in Madrid (CET); the clocks go forward on Sunday 29th. One hour on
    # Friday, one on Monday from 09:00 CEST: 10:00 CEST is 08:00 UTC (a fixed offset would say 09:00).
    due = add_business_minutes(madrid("2026-03-27 16:00"), 120, MADRID_OFFICE)
    assert due == utc("2026-03-30 08:00")
    assert due.astimezone(MADRID).hour == 10


def test_business_hours_follow_the_clock_change_of_autumn() -> None:
    # Friday 23 October 2026 16:00 CEST; the clocks go back on Sunday 25th: Monday 10:00 CET = 09:00 UTC.
    assert add_business_minutes(madrid("2026-10-23 16:00"), 120, MADRID_OFFICE) == utc("2026-10-26 09:00")


def test_a_24_7_day_of_a_clock_change_has_its_real_length() -> None:
    always_madrid = Calendar(time_zone="Europe/Madrid", hours=ALWAYS.hours)
    # 29 March 2026 in Madrid has 23 hours, 25 October 2026 has 25.
    spring_day = madrid("2026-03-29 00:00")
    assert add_business_minutes(spring_day, 23 * 60, always_madrid) == madrid("2026-03-30 00:00")
    autumn_day = madrid("2026-10-25 00:00")
    assert add_business_minutes(autumn_day, 25 * 60, always_madrid) == madrid("2026-10-26 00:00")
    assert business_time_between(autumn_day, madrid("2026-10-26 00:00"), always_madrid) == timedelta(hours=25)


def test_an_evening_shift_ends_at_midnight_and_goes_on_the_next_morning() -> None:
    night = Calendar(hours={day: ((0, 2 * 60), (22 * 60, 1440)) for day in range(7)})
    assert add_business_minutes(utc("2026-11-30 23:00"), 120, night) == utc("2026-12-01 01:00")


@pytest.mark.parametrize("calendar", [OFFICE, MADRID_OFFICE, LUNCH_BREAK, ALWAYS])
@pytest.mark.parametrize("minutes", [1, 59, 480, 481, 2000, 9000])
def test_counting_between_gives_back_what_was_added(calendar: Calendar, minutes: int) -> None:
    for start in (utc("2026-03-26 11:17"), utc("2026-10-24 03:00"), utc("2026-12-04 16:59")):
        due = add_business_minutes(start, minutes, calendar)
        assert business_time_between(start, due, calendar) == timedelta(minutes=minutes)


def test_counting_between_leaves_out_nights_and_weekends() -> None:
    assert business_time_between(utc("2026-12-04 16:00"), utc("2026-12-07 10:00"), OFFICE) == timedelta(hours=2)
    assert business_time_between(utc("2026-12-07 10:00"), utc("2026-12-04 16:00"), OFFICE) == timedelta(0)


def test_zero_minutes_is_the_start() -> None:
    assert add_business_minutes(utc("2026-12-05 12:00"), 0, OFFICE) == utc("2026-12-05 12:00")


def test_a_calendar_without_business_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no business hours"):
        add_business_minutes(utc("2026-11-30 10:00"), 1, Calendar(hours={}))
    only_holidays = Calendar(
        hours={0: ((540, 600),)}, holidays=frozenset({date(2026, 11, 30) + timedelta(weeks=w) for w in range(2)})
    )
    assert add_business_minutes(utc("2026-11-30 09:00"), 1, only_holidays) == utc("2026-12-14 09:01")
