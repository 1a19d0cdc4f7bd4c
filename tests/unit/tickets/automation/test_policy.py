"""A workspace's automation settings as rules: what an admin may choose, and when a solved ticket closes
itself (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_platform.errors import InvalidInput
from crm_tickets.automation.rules import Policy, check_policy, closes_automatically

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def settings(**changes: object) -> dict[str, object]:
    return {
        "agent_reply_sets_pending": True,
        "closed_followup": "reopen",
        "followup_after_days": 14,
        "auto_close_solved_after_days": 7,
        **changes,
    }


def test_the_defaults_are_a_valid_choice() -> None:
    assert check_policy(**settings()) == Policy()  # type: ignore[arg-type]
    never = check_policy(**settings(auto_close_solved_after_days=None, closed_followup="new_ticket"))  # type: ignore[arg-type]
    assert (never.auto_close_solved_after_days, never.closed_followup) == (None, "new_ticket")


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"followup_after_days": 0}, {"followup_after_days": "out_of_range"}),
        ({"auto_close_solved_after_days": 3651}, {"auto_close_solved_after_days": "out_of_range"}),
        ({"closed_followup": "ignore"}, {"closed_followup": "invalid_choice"}),
        (
            {"closed_followup": "x", "followup_after_days": -1},
            {"closed_followup": "invalid_choice", "followup_after_days": "out_of_range"},
        ),
    ],
)
def test_an_admins_choice_is_checked_field_by_field(changes: dict[str, object], errors: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_policy(**settings(**changes))  # type: ignore[arg-type]
    assert {error.field: error.code for error in refused.value.errors} == errors


def test_boundaries_of_days_are_accepted() -> None:
    assert check_policy(**settings(followup_after_days=1, auto_close_solved_after_days=3650)).followup_after_days == 1  # type: ignore[arg-type]


def test_a_solved_ticket_closes_after_the_days_without_a_reply() -> None:
    policy = Policy(auto_close_solved_after_days=7)
    solved_at = NOW - timedelta(days=7)

    assert closes_automatically("solved", solved_at=solved_at, now=NOW, policy=policy)
    assert not closes_automatically("solved", solved_at=solved_at + timedelta(seconds=1), now=NOW, policy=policy)


def test_a_reply_after_solving_starts_the_days_again() -> None:
    policy = Policy(auto_close_solved_after_days=7)
    solved_at = NOW - timedelta(days=10)

    assert not closes_automatically(
        "solved", solved_at=solved_at, last_agent_reply_at=NOW - timedelta(days=2), now=NOW, policy=policy
    )
    assert closes_automatically(
        "solved", solved_at=solved_at, last_customer_reply_at=NOW - timedelta(days=11), now=NOW, policy=policy
    )


def test_only_solved_tickets_close_and_never_when_switched_off() -> None:
    old = NOW - timedelta(days=100)
    assert not closes_automatically("open", solved_at=old, now=NOW, policy=Policy())
    assert not closes_automatically("solved", solved_at=None, now=NOW, policy=Policy())
    assert not closes_automatically("solved", solved_at=old, now=NOW, policy=Policy(auto_close_solved_after_days=None))
