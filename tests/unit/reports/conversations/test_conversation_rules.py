"""The conversation report's figures as pure functions over a conversation's facts: cycles, first response,
who each figure counts for, deleted conversations, business hours and days in the workspace's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from crm_platform.business_hours import Calendar, calendar_as_json
from crm_reports import rollups
from crm_reports.conversations import rules
from crm_reports.conversations.rules import (
    ARCHIVED,
    ASSIGNED,
    CLOSE_TIME,
    CLOSED,
    DELETED,
    FIRST_RESPONSE,
    HANDLED,
    MESSAGE_ADDED,
    NEW,
    RECEIVED,
    REOPENED,
    SENT,
    STARTED,
)
from crm_reports.conversations.service import count_series
from crm_reports.facts import FactRow
from crm_reports.projection import Derived
from crm_reports.ranges import DateRange
from crm_reports.workspaces import Context

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday
UTC_CONTEXT = Context("ws")
_ids = count()


def fact(kind: str, at: datetime, member: str = "", **attrs: Any) -> FactRow:
    return FactRow(f"e{next(_ids):04d}", "ws", kind, "c1", at, member, attrs)


def started(at: datetime, assignee: str = "ana", started_by: str = "contact") -> FactRow:
    return fact(STARTED, at, assignee, assignee=assignee, started_by=started_by)


def status(kind: str, at: datetime, assignee: str = "ana") -> FactRow:
    return fact(kind, at, assignee, assignee=assignee)


def from_contact(at: datetime) -> FactRow:
    return fact(MESSAGE_ADDED, at, direction="inbound", author_type="contact", automatic=False)


def reply(at: datetime, member: str = "ana", *, automatic: bool = False) -> FactRow:
    return fact(MESSAGE_ADDED, at, member, direction="outbound", author_type="member", automatic=automatic)


def note(at: datetime, member: str = "ana") -> FactRow:
    return fact(MESSAGE_ADDED, at, member, direction="note", author_type="member", automatic=False)


def derive(facts: Sequence[FactRow], context: Context = UTC_CONTEXT) -> Derived:
    return rules.derive(sorted(facts, key=lambda f: (f.occurred_at, f.event_id)), context)


def of(derived: Derived, metric: str) -> list[tuple[datetime, str, float]]:
    return [(c.at, c.member_id, c.seconds) for c in derived.contributions if c.metric == metric]


def durations_of(derived: Derived, metric: str) -> list[tuple[int, float, str]]:
    return [(d.seq, d.seconds, d.member_id) for d in derived.durations if d.metric == metric]


def test_a_reopened_conversation_counts_each_cycle_apart() -> None:
    day = timedelta(days=1)
    derived = derive(
        [
            started(T0),
            status(ARCHIVED, T0 + timedelta(hours=1)),
            status(REOPENED, T0 + day),
            status(ARCHIVED, T0 + day + timedelta(minutes=30)),
        ]
    )

    assert [at for at, _, _ in of(derived, CLOSED)] == [T0 + timedelta(hours=1), T0 + day + timedelta(minutes=30)]
    assert durations_of(derived, CLOSE_TIME) == [(0, 3600.0, "ana"), (1, 1800.0, "ana")]  # not one 24.5 h close
    assert len(of(derived, NEW)) == 1


def test_archiving_an_archived_conversation_closes_nothing_more() -> None:
    derived = derive(
        [started(T0), status(ARCHIVED, T0 + timedelta(hours=1)), status(ARCHIVED, T0 + timedelta(hours=2))]
    )

    assert len(of(derived, CLOSED)) == 1
    assert durations_of(derived, CLOSE_TIME) == [(0, 3600.0, "ana")]


def test_a_close_whose_start_the_report_never_heard_of_counts_without_a_close_time() -> None:
    derived = derive([status(ARCHIVED, T0)])

    assert of(derived, CLOSED) == [(T0, "ana", 0.0)]
    assert durations_of(derived, CLOSE_TIME) == []


def test_first_response_ignores_private_notes_and_automatic_messages() -> None:
    derived = derive(
        [
            started(T0),
            from_contact(T0),
            note(T0 + timedelta(minutes=1)),
            reply(T0 + timedelta(minutes=2), "bot", automatic=True),
            reply(T0 + timedelta(minutes=10), "luis"),
            reply(T0 + timedelta(minutes=20), "ana"),
        ]
    )

    assert durations_of(derived, FIRST_RESPONSE) == [(0, 600.0, "luis")]  # the member who answered


def test_a_conversation_a_member_started_measures_first_response_from_the_contacts_first_message() -> None:
    derived = derive(
        [
            started(T0, started_by="ana"),
            reply(T0, "ana"),  # the opening message is no response
            note(T0 + timedelta(minutes=30), "ana"),  # nor is a note the contact's message
            from_contact(T0 + timedelta(hours=1)),
            reply(T0 + timedelta(hours=1, minutes=5), "ana"),
        ]
    )

    assert durations_of(derived, FIRST_RESPONSE) == [(0, 300.0, "ana")]


def test_a_conversation_the_contact_never_answered_has_no_first_response() -> None:
    derived = derive([started(T0, started_by="ana"), reply(T0, "ana"), reply(T0 + timedelta(hours=1), "ana")])

    assert durations_of(derived, FIRST_RESPONSE) == []
    assert len(of(derived, SENT)) == 2


def test_the_contacts_message_that_reopens_a_conversation_starts_the_next_cycles_clock() -> None:
    reopened_at = T0 + timedelta(days=2)
    derived = derive(
        [
            started(T0),
            from_contact(T0),
            reply(T0 + timedelta(minutes=3)),
            status(ARCHIVED, T0 + timedelta(hours=1)),
            from_contact(reopened_at),  # arrives while archived; the reopening follows it
            status(REOPENED, reopened_at),
            reply(reopened_at + timedelta(minutes=7), "luis"),
            status(ARCHIVED, reopened_at + timedelta(hours=2), "luis"),
        ]
    )

    assert durations_of(derived, FIRST_RESPONSE) == [(0, 180.0, "ana"), (1, 420.0, "luis")]
    assert durations_of(derived, CLOSE_TIME) == [(0, 3600.0, "ana"), (1, 7200.0, "luis")]


def test_each_figure_counts_for_the_member_the_rules_say() -> None:
    derived = derive(
        [
            started(T0, assignee=""),  # unassigned at the start
            from_contact(T0),
            fact(ASSIGNED, T0 + timedelta(minutes=1), "ana", assignee="ana"),
            reply(T0 + timedelta(minutes=2), "ana"),
            fact(ASSIGNED, T0 + timedelta(minutes=5), "luis", assignee="luis"),
            fact(ASSIGNED, T0 + timedelta(minutes=6), "ana", assignee="ana"),  # back to ana: counted once per cycle
            fact(ASSIGNED, T0 + timedelta(minutes=7), "luis", assignee="luis"),
            status(ARCHIVED, T0 + timedelta(hours=1), assignee=""),  # an event older than its assignee field
        ]
    )

    assert of(derived, NEW) == [(T0, "", 0.0)]
    assert [member for _, member, _ in of(derived, CLOSED)] == ["luis"]  # the assignee at the close
    assert [member for _, member, _ in of(derived, HANDLED)] == ["ana", "luis"]
    assert [member for _, member, _ in of(derived, SENT)] == ["ana"]
    assert len(of(derived, RECEIVED)) == 1


def test_messages_sent_are_the_outbound_messages_members_typed() -> None:
    derived = derive(
        [
            started(T0),
            from_contact(T0),
            note(T0 + timedelta(minutes=1)),
            reply(T0 + timedelta(minutes=2), "ana", automatic=True),
            reply(T0 + timedelta(minutes=3), "ana"),
        ]
    )

    assert of(derived, SENT) == [(T0 + timedelta(minutes=3), "ana", 0.0)]


def test_a_deleted_conversation_counts_in_no_figure() -> None:
    history = [
        started(T0),
        from_contact(T0),
        reply(T0 + timedelta(minutes=1)),
        status(ARCHIVED, T0 + timedelta(hours=1)),
    ]
    assert derive(history).contributions

    derived = derive([*history, fact(DELETED, T0 + timedelta(days=30))])

    assert list(derived.contributions) == []
    assert list(derived.durations) == []


MADRID_OFFICE = Calendar(time_zone="Europe/Madrid")  # Monday to Friday, 09:00-17:00


def test_business_hours_count_only_the_calendars_time_toward_response_and_close() -> None:
    context = Context("ws", "Europe/Madrid", calendar_as_json(MADRID_OFFICE))
    friday_4pm = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 16:00 in Madrid
    monday_10am = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    derived = derive(
        [started(friday_4pm), from_contact(friday_4pm), reply(monday_10am), status(ARCHIVED, monday_10am)], context
    )

    (response,) = [d for d in derived.durations if d.metric == FIRST_RESPONSE]
    assert response.seconds == 66 * 3600
    assert response.business_seconds == 2 * 3600  # Friday 16-17, Monday 09-10
    (close,) = [d for d in derived.durations if d.metric == CLOSE_TIME]
    assert close.business_seconds == 2 * 3600


def test_without_business_hours_durations_have_no_business_seconds() -> None:
    derived = derive([started(T0), from_contact(T0), reply(T0 + timedelta(minutes=1))])

    assert [d.business_seconds for d in derived.durations] == [None]


def test_days_and_weeks_are_the_workspaces_own_across_daylight_saving_changes() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    closes = [
        datetime(2026, 3, 29, 22, 30, tzinfo=UTC),  # Monday 30 March 00:30 in Madrid (summer time since Sunday)
        datetime(2026, 10, 25, 23, 30, tzinfo=UTC),  # Monday 26 October 00:30 (winter time since Sunday)
        datetime(2026, 10, 25, 22, 30, tzinfo=UTC),  # Sunday 25 October 23:30
    ]
    contributions = []
    for n, at in enumerate(closes):
        derived = rules.derive(
            [FactRow(f"a{n}", "ws", ARCHIVED, f"c{n}", at, "ana", {"assignee": "ana"})], Context("ws", "Europe/Madrid")
        )
        contributions.extend(derived.contributions)
    rows = [
        (metric, day, number, seconds)
        for (metric, day, _m, _d), (number, seconds) in rollups.totals(contributions, madrid).items()
    ]

    assert sorted(day for _, day, _, _ in rows) == [date(2026, 3, 30), date(2026, 10, 25), date(2026, 10, 26)]
    period = DateRange(date(2026, 3, 1), date(2026, 10, 31), madrid)
    weekly = dict(count_series(rows, CLOSED, period, "week"))
    assert weekly[date(2026, 3, 30)] == 1 and weekly[date(2026, 3, 23)] == 0
    assert weekly[date(2026, 10, 19)] == 1 and weekly[date(2026, 10, 26)] == 1
    monthly = count_series(rows, CLOSED, period, "month")
    assert [(first.month, value) for first, value in monthly if value] == [(3, 1), (10, 2)]
