"""Which events the summary report counts, and which date ranges it accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_events import tickets
from crm_platform.errors import InvalidInput
from crm_reports.summary.rules import FIGURES, KIND_OF_EVENT, resolve_range

NOW = datetime(2024, 6, 15, 12, 30, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def refusal(raw_from: str | None, raw_to: str | None) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as raised:
        resolve_range(raw_from, raw_to, NOW)
    assert raised.value.http_status == 422
    return [(e.field, e.code) for e in raised.value.errors]


def test_each_counted_event_type_feeds_its_own_figure() -> None:
    assert {event_type.name: kind for event_type, kind in KIND_OF_EVENT.items()} == {
        "contacts.contact.created": "contacts_created",
        "tickets.ticket.opened": "tickets_opened",
        "tickets.comment.public_added": "public_comments",
        "mailer.message.sent": "emails_delivered",
        "conversations.message.added": "conversation_messages",
    }
    assert sorted(FIGURES) == sorted(set(KIND_OF_EVENT.values()))


def test_private_notes_are_not_counted() -> None:
    assert tickets.COMMENT_PRIVATE_ADDED not in KIND_OF_EVENT


def test_range_defaults_to_the_last_thirty_days_up_to_now() -> None:
    assert resolve_range(None, None, NOW) == (NOW - timedelta(days=30), NOW)
    assert resolve_range("", "", NOW) == (NOW - timedelta(days=30), NOW)


def test_bare_dates_cover_the_whole_to_day() -> None:
    assert resolve_range("2024-06-01", "2024-06-10", NOW) == (utc(2024, 6, 1), utc(2024, 6, 11))


def test_same_bare_date_on_both_ends_is_that_whole_day() -> None:
    assert resolve_range("2024-06-10", "2024-06-10", NOW) == (utc(2024, 6, 10), utc(2024, 6, 11))


def test_only_to_given_means_the_thirty_days_before_it() -> None:
    assert resolve_range(None, "2024-06-10", NOW) == (utc(2024, 5, 12), utc(2024, 6, 11))


def test_date_times_are_taken_as_they_are_and_default_to_utc() -> None:
    start, end = resolve_range("2024-06-01T10:00:00Z", "2024-06-02T08:00:00", NOW)

    assert (start, end) == (utc(2024, 6, 1, 10), utc(2024, 6, 2, 8))
    assert end.tzinfo is not None


def test_date_time_with_an_offset_keeps_its_instant() -> None:
    _start, end = resolve_range("2024-06-01", "2024-06-10T02:00:00+02:00", NOW)

    assert end == utc(2024, 6, 10)


def test_inverted_range_is_refused_on_the_from_field() -> None:
    assert refusal("2024-06-10", "2024-06-01") == [("from", "range_inverted")]


def test_range_longer_than_ten_years_is_refused_on_the_from_field() -> None:
    assert refusal("2010-01-01", "2024-06-01") == [("from", "range_too_long")]


def test_a_ten_year_range_is_accepted() -> None:
    start, end = resolve_range("2014-06-10", "2024-06-10", NOW)

    assert (start, end) == (utc(2014, 6, 10), utc(2024, 6, 11))


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "field"),
    [("yesterday", None, "from"), ("2024-13-01", None, "from"), (None, "2024-02-30", "to"), (None, "soon", "to")],
)
def test_unreadable_bound_is_refused_on_its_own_field(raw_from: str | None, raw_to: str | None, field: str) -> None:
    assert [f for f, _code in refusal(raw_from, raw_to)] == [field]
