"""What a finished ticket's SLA came to, per target: met or breached, and which targets are left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_platform.business_hours import ALWAYS
from crm_tickets.sla.rules import Deadline, Deadlines, Targets, TicketClock, deadlines, outcomes

OPENED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
POLICY = Targets(first_response_minutes=60, update_minutes=90, solution_minutes=240)


def solved(after: timedelta, **times: datetime) -> Deadlines:
    at = OPENED + after
    return deadlines(TicketClock(created_at=OPENED, status="solved", solved_at=at, **times), POLICY, ALWAYS)


def test_each_target_met_in_time_is_met_in_the_order_of_the_targets() -> None:
    answered = OPENED + timedelta(minutes=20)

    found = solved(timedelta(minutes=60), first_response_at=answered, last_agent_reply_at=answered)

    assert outcomes(found) == ["first_response:met", "update:met", "solution:met"]


def test_a_solution_before_any_answer_stops_the_first_response_clock_and_no_update_runs() -> None:
    assert outcomes(solved(timedelta(minutes=45))) == ["first_response:met", "solution:met"]
    assert outcomes(solved(timedelta(minutes=300))) == ["first_response:breached", "solution:breached"]


def test_a_breach_reported_earlier_stays_breached_whatever_the_last_cycle_did() -> None:
    answered = OPENED + timedelta(minutes=20)
    found = solved(timedelta(minutes=60), first_response_at=answered, last_agent_reply_at=answered)

    assert outcomes(found, already_breached=["update"]) == ["first_response:met", "update:breached", "solution:met"]


def test_targets_without_a_deadline_are_left_out_and_no_policy_gives_nothing() -> None:
    never_due = Deadlines(first_response=Deadline(None, False), solution=Deadline(OPENED, True))

    assert outcomes(never_due) == ["solution:met"]
    assert outcomes(Deadlines()) == []
