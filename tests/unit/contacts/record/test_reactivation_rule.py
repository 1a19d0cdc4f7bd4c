"""An inactive address may be reactivated once every 30 days, counted from its last reactivation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_contacts.record import emailstatus

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def test_an_address_never_reactivated_can_be_reactivated() -> None:
    assert emailstatus.reactivation_refusal(None, now=NOW) is None


def test_reactivating_again_within_30_days_is_refused_until_the_date_it_becomes_possible() -> None:
    last = NOW - timedelta(days=10)

    assert emailstatus.reactivation_refusal(last, now=NOW) == datetime(2025, 3, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("days_ago", "allowed"), [(29, False), (30, True), (45, True)])
def test_the_30_days_count_from_the_last_reactivation(days_ago: int, allowed: bool) -> None:
    assert (emailstatus.reactivation_refusal(NOW - timedelta(days=days_ago), now=NOW) is None) is allowed


def test_refusal_says_the_date() -> None:
    detail = emailstatus.refusal_detail("ana@example.com", datetime(2025, 3, 30, 12, 0, tzinfo=UTC))

    assert "ana@example.com" in detail
    assert "2025-03-30" in detail


@pytest.mark.parametrize(
    ("kind", "reason"), [("hard", "hard_bounce"), ("mailbox_full", "mailbox_full"), ("soft", None)]
)
def test_bounce_kinds_map_to_inactive_reasons(kind: str, reason: str | None) -> None:
    assert emailstatus.reason_of_bounce(kind) == reason
