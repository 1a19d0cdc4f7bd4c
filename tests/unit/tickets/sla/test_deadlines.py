"""A ticket's deadlines under a policy: when each target is due, whether it was met, how pending and stopped
pause the clocks, and which breaches are still to report (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm_platform.business_hours import ALWAYS, Calendar, calendar_hours_out
from crm_platform.errors import InvalidInput
from crm_tickets.sla import rules
from crm_tickets.sla.rules import (
    FIRST_RESPONSE,
    SOLUTION,
    UPDATE,
    Deadline,
    Targets,
    TicketClock,
    deadlines,
    due_at,
    pauses_from,
)

OFFICE = Calendar()  # Monday to Friday, 09:00-17:00 UTC
POLICY = Targets(first_response_minutes=60, update_minutes=120, solution_minutes=480)


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-30 {text}" if len(text) == 5 else text).replace(tzinfo=UTC)


def clock(status: str = "open", history: list[tuple[str, str]] | None = None, **times: str) -> TicketClock:
    """A ticket opened Monday 09:00, with its other times as HH:MM (that Monday) or full timestamps."""
    pauses = tuple(pauses_from([(at(when), to) for when, to in (history or [])]))
    return TicketClock(
        created_at=at("09:00"), status=status, pauses=pauses, **{name: at(value) for name, value in times.items()}
    )


def test_first_response_in_time_is_met() -> None:
    found = deadlines(clock(first_response_at="09:30"), POLICY, OFFICE)

    assert found.first_response == Deadline(at("10:00"), True)
    assert found.solution == Deadline(at("17:00"), None)


def test_first_response_too_late_is_missed_and_still_to_report() -> None:
    found = deadlines(clock(first_response_at="10:30"), POLICY, OFFICE)

    assert found.first_response == Deadline(at("10:00"), False)
    assert found.breaches(at("10:30")) == [(FIRST_RESPONSE, at("10:00"))]
    assert found.breaches(at("10:30"), already_breached=[FIRST_RESPONSE]) == []


def test_a_running_target_breaches_at_its_due_time_not_before() -> None:
    found = deadlines(clock(status="new"), POLICY, OFFICE)

    assert found.first_response == Deadline(at("10:00"), None)
    assert found.breaches(at("09:59")) == []
    assert found.breaches(at("10:00")) == [(FIRST_RESPONSE, at("10:00"))]
    assert found.next_due_at() == at("10:00")
    assert found.next_due_at(already_breached=[FIRST_RESPONSE]) == at("17:00")  # the solution's


def test_pending_pauses_the_clock_and_no_due_time_shows_meanwhile() -> None:
    paused = deadlines(clock(status="pending", history=[("09:00", "new"), ("09:20", "pending")]), POLICY, OFFICE)

    assert paused.first_response == Deadline(None, None)
    assert paused.solution == Deadline(None, None)
    assert paused.next_due_at() is None  # nothing can breach while it waits for the contact


def test_time_in_pending_or_stopped_is_added_to_the_due_time() -> None:
    history = [("09:00", "new"), ("09:20", "pending"), ("11:00", "open"), ("12:00", "stopped"), ("12:30", "open")]

    found = deadlines(clock(history=history), POLICY, OFFICE)

    # 20 minutes before the pause, 40 after it: 11:40; the solution: 8 hours plus the 2h10m paused.
    assert found.first_response == Deadline(at("11:40"), None)
    assert found.solution == Deadline(at("2026-12-01 11:10"), None)


def test_pauses_after_a_target_was_met_change_nothing() -> None:
    history = [("09:00", "new"), ("09:30", "pending")]

    found = deadlines(clock(status="pending", history=history, first_response_at="09:30"), POLICY, OFFICE)

    assert found.first_response == Deadline(at("10:00"), True)


def test_outside_business_hours_counts_nothing_paused_or_not() -> None:
    history = [("09:00", "new"), ("16:50", "pending"), ("2026-12-01 08:00", "open")]

    found = deadlines(clock(history=history), Targets(first_response_minutes=480), OFFICE)

    # 7h50 counted on Monday, the 10 minutes left from Tuesday's opening.
    assert found.first_response == Deadline(at("2026-12-01 09:10"), None)


def test_solving_without_a_response_stops_the_first_response_clock() -> None:
    found = deadlines(clock(status="solved", solved_at="09:45"), POLICY, OFFICE)

    assert found.first_response == Deadline(at("10:00"), True)
    assert found.solution == Deadline(at("17:00"), True)
    assert found.next_due_at() is None


def test_update_is_due_after_the_latest_reply_of_either_side() -> None:
    found = deadlines(
        clock(first_response_at="09:10", last_customer_reply_at="12:00", last_agent_reply_at="11:00"), POLICY, OFFICE
    )
    assert found.update == Deadline(at("14:00"), None)

    later = deadlines(
        clock(first_response_at="09:10", last_customer_reply_at="12:00", last_agent_reply_at="13:00"), POLICY, OFFICE
    )
    assert later.update == Deadline(at("15:00"), None)


def test_update_does_not_run_before_anyone_replied_nor_after_solving() -> None:
    assert deadlines(clock(status="new"), POLICY, OFFICE).update is None
    solved = deadlines(
        clock(status="solved", first_response_at="09:10", last_customer_reply_at="12:00", solved_at="15:00"),
        POLICY,
        OFFICE,
    )
    assert solved.update == Deadline(at("14:00"), False)


def test_solution_met_missed_and_running_again_when_reopened() -> None:
    assert deadlines(clock(status="solved", solved_at="16:00"), POLICY, OFFICE).solution == Deadline(at("17:00"), True)
    late = deadlines(clock(status="closed", closed_at="2026-12-01 10:00"), POLICY, OFFICE)
    assert late.solution == Deadline(at("17:00"), False)
    reopened = deadlines(clock(status="open"), POLICY, OFFICE)  # solved_at cleared by the reopening
    assert reopened.solution == Deadline(at("17:00"), None)


def test_no_policy_or_no_target_means_no_deadline() -> None:
    assert deadlines(clock(), None, OFFICE) == rules.Deadlines()
    only_solution = deadlines(clock(first_response_at="09:10"), Targets(solution_minutes=60), ALWAYS)
    assert (only_solution.first_response, only_solution.update) == (None, None)
    assert only_solution.solution == Deadline(at("10:00"), None)
    assert deadlines(clock(), None, OFFICE).next_due_at() is None


def test_pauses_from_the_status_history() -> None:
    history = [(at("09:00"), "new"), (at("09:10"), "pending"), (at("09:20"), "stopped"), (at("09:30"), "open")]
    assert pauses_from(history) == [(at("09:10"), at("09:30"))]
    assert pauses_from([*history, (at("10:00"), "pending")]) == [(at("09:10"), at("09:30")), (at("10:00"), None)]


def test_due_at_with_a_pause_before_the_start() -> None:
    # Stopped before the clock started (a reply on a stopped ticket): it runs from the resumption.
    assert due_at(at("10:00"), 30, OFFICE, [(at("09:00"), at("11:00"))]) == at("11:30")
    assert due_at(at("10:00"), 30, OFFICE, [(at("09:00"), None)]) is None


def test_an_admins_calendar_is_checked_field_by_field() -> None:
    week = {"mon": [("09:00", "13:00"), ("14:00", "18:00")], "sat": [("10:00", "24:00")]}
    calendar = rules.check_calendar("Europe/Madrid", week, [date(2026, 12, 25)])
    assert calendar.hours == {0: ((540, 780), (840, 1080)), 5: ((600, 1440),)}
    assert calendar_hours_out(calendar)["sat"] == [{"from": "10:00", "to": "24:00"}]

    def code_of(time_zone: str, hours: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
        with pytest.raises(InvalidInput) as refused:
            rules.check_calendar(time_zone, hours, [])
        return {error.field: error.code for error in refused.value.errors}

    assert code_of("Mars/Olympus", week) == {"time_zone": "invalid_time_zone"}
    assert code_of("../../etc/passwd", week) == {"time_zone": "invalid_time_zone"}
    assert code_of("UTC", {"mon": [("9:00", "17:00")]}) == {"business_hours.mon.0.from": "invalid_time"}
    assert code_of("UTC", {"mon": [("09:00", "24:30")]}) == {"business_hours.mon.0.to": "invalid_time"}
    assert code_of("UTC", {"mon": [("09:60", "10:00")]}) == {"business_hours.mon.0.from": "invalid_time"}
    assert code_of("UTC", {"mon": [("17:00", "09:00")]}) == {"business_hours.mon.0.to": "invalid_interval"}
    assert code_of("UTC", {"tue": [("09:00", "13:00"), ("12:00", "18:00")]}) == {
        "business_hours.tue": "overlapping_intervals"
    }
    assert code_of("UTC", {}) == {"business_hours": "required"}


def test_a_policy_needs_a_target_within_a_year() -> None:
    assert rules.check_targets(30, None, None, "policies.urgent") == Targets(first_response_minutes=30)
    with pytest.raises(InvalidInput) as refused:
        rules.check_targets(None, None, None, "policies.urgent")
    assert [(e.field, e.code) for e in refused.value.errors] == [("policies.urgent", "required")]
    with pytest.raises(InvalidInput) as refused:
        rules.check_targets(10, 0, None, "policies.low")
    assert [(e.field, e.code) for e in refused.value.errors] == [("policies.low.update_minutes", "out_of_range")]


def test_update_and_solution_targets_are_reported_separately() -> None:
    found = deadlines(clock(first_response_at="09:10", last_customer_reply_at="09:30"), POLICY, OFFICE)
    assert found.breaches(at("2026-12-01 09:00")) == [(UPDATE, at("11:30")), (SOLUTION, at("17:00"))]
