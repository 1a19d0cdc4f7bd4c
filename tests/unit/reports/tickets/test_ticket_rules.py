"""What a ticket's facts amount to: counts, state changes, first response and solution times, SLA outcomes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_reports.facts import FactRow
from crm_reports.rollups import Contribution
from crm_reports.tickets import rules
from crm_reports.tickets.rules import (
    ASSIGNED_KIND,
    CLOSED,
    COMMENT_KIND,
    FIRST_RESPONSE,
    MERGED,
    OPENED,
    OPENED_KIND,
    PRIORITY_CHANGED_KIND,
    REOPENED,
    SLA,
    SLA_BREACH,
    SLA_BREACHED_KIND,
    SOLUTION,
    SOLVED,
    STATE,
    STATUS_CHANGED_KIND,
)

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
_seq = iter(range(10**6))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fact(kind: str, minutes: float, **attrs: Any) -> FactRow:
    return FactRow(f"e{next(_seq):06d}", "ws", kind, "ticket-1", at(minutes), "", attrs)


def opened(minutes: float = 0, *, status: str = "new", priority: str = "normal", responsible: str = "ana") -> FactRow:
    return fact(OPENED_KIND, minutes, status=status, priority=priority, responsible=responsible)


def moved(minutes: float, before: str, after: str, *, responsible: str = "", reason: str = "", sla=()) -> FactRow:  # type: ignore[no-untyped-def]
    return fact(
        STATUS_CHANGED_KIND,
        minutes,
        responsible=responsible,
        priority="",
        reason=reason,
        sla=list(sla),
        **{"from": before, "to": after},
    )


def reply(minutes: float, author: str = "ana", responsible: str = "") -> FactRow:
    return fact(COMMENT_KIND, minutes, author=author, responsible=responsible)


def counted(contributions: list[Contribution], metric: str) -> list[tuple[datetime, str, str]]:
    return [(c.at, c.member_id, c.dimension) for c in contributions if c.metric == metric]


def state_at_end(contributions: list[Contribution]) -> dict[tuple[str, str], int]:
    """What the sum of every STATE contribution says: (member, "status|priority") -> tickets."""
    found: Counter[tuple[str, str]] = Counter()
    for c in contributions:
        if c.metric == STATE:
            found[(c.member_id, c.dimension)] += c.count
    return {key: value for key, value in found.items() if value}


def test_an_opened_ticket_counts_once_for_its_responsible_and_priority() -> None:
    derived = rules.derive([opened(priority="high")])

    assert counted(list(derived.contributions), OPENED) == [(T0, "ana", "high")]
    assert state_at_end(list(derived.contributions)) == {("ana", "new|high"): 1}


def test_the_state_follows_status_assignment_and_priority_so_the_end_holds_one_ticket() -> None:
    derived = rules.derive(
        [
            opened(),
            moved(5, "new", "open"),
            fact(ASSIGNED_KIND, 10, responsible="bea"),
            fact(PRIORITY_CHANGED_KIND, 15, priority="urgent"),
            moved(20, "open", "pending"),
        ]
    )
    contributions = list(derived.contributions)

    assert state_at_end(contributions) == {("bea", "pending|urgent"): 1}
    assert sum(c.count for c in contributions if c.metric == STATE) == 1  # every leave matched an enter


def test_a_status_change_names_the_responsible_and_priority_the_ticket_had_at_the_change() -> None:
    found = fact(
        STATUS_CHANGED_KIND, 5, responsible="bea", priority="low", reason="", sla=[], **{"from": "new", "to": "solved"}
    )
    derived = rules.derive([opened(), found])

    assert counted(list(derived.contributions), SOLVED) == [(at(5), "bea", "low")]
    assert state_at_end(list(derived.contributions)) == {("bea", "solved|low"): 1}


def test_first_response_is_the_first_members_public_reply_after_opening() -> None:
    derived = rules.derive([opened(), reply(30, author="carl"), reply(50)])

    assert [(d.metric, d.at, d.seconds, d.member_id) for d in derived.durations] == [
        (FIRST_RESPONSE, at(30), 1800.0, "ana")  # the responsible's figure, whoever wrote it
    ]


def test_an_unassigned_tickets_first_response_is_its_authors() -> None:
    derived = rules.derive([opened(responsible=""), reply(12, author="carl")])

    assert [(d.member_id, d.seconds) for d in derived.durations] == [("carl", 720.0)]


def test_no_first_response_before_the_opening_is_known() -> None:
    assert rules.derive([reply(12)]).durations == []


def test_solution_time_runs_from_opening_to_the_first_solution_and_a_reopen_does_not_measure_again() -> None:
    derived = rules.derive(
        [
            opened(),
            moved(60, "new", "solved"),
            moved(90, "solved", "closed"),
            moved(120, "closed", "open"),
            moved(180, "open", "solved"),
        ]
    )
    contributions = list(derived.contributions)

    assert [(d.metric, d.seconds) for d in derived.durations] == [(SOLUTION, 3600.0)]
    assert len(counted(contributions, SOLVED)) == 2
    assert len(counted(contributions, CLOSED)) == 1
    assert counted(contributions, REOPENED) == [(at(120), "ana", "normal")]


def test_a_merged_ticket_is_closed_and_merged_but_never_solved() -> None:
    derived = rules.derive([opened(), moved(30, "new", "closed", reason="merged", sla=["solution:met"])])
    contributions = list(derived.contributions)

    assert len(counted(contributions, CLOSED)) == 1
    assert len(counted(contributions, MERGED)) == 1
    assert derived.durations == []
    assert counted(contributions, SLA) == []


def test_sla_outcomes_count_once_per_target_from_the_latest_resolution() -> None:
    derived = rules.derive(
        [
            opened(),
            moved(60, "new", "solved", sla=["first_response:met", "solution:met"]),
            moved(70, "solved", "closed", sla=["first_response:met", "solution:met"]),  # not a new resolution
            moved(120, "closed", "open"),
            moved(600, "open", "solved", sla=["first_response:met", "solution:breached"]),
        ]
    )

    assert sorted(counted(list(derived.contributions), SLA)) == [
        (at(600), "ana", "first_response:met"),
        (at(600), "ana", "solution:breached"),
    ]


def test_breach_alerts_count_as_they_happen_per_target() -> None:
    derived = rules.derive([opened(), fact(SLA_BREACHED_KIND, 45, target="first_response", priority="normal")])

    assert counted(list(derived.contributions), SLA_BREACH) == [(at(45), "ana", "first_response")]


def test_a_ticket_whose_opening_is_late_is_derived_whole_once_it_arrives() -> None:
    change = moved(60, "new", "solved")
    before = rules.derive([change])
    after = rules.derive([opened(), change])

    assert state_at_end(list(before.contributions)) == {("", "solved|normal"): 1}
    assert state_at_end(list(after.contributions)) == {("ana", "solved|normal"): 1}
    assert [d.seconds for d in after.durations] == [3600.0]


def test_any_move_out_of_solved_or_closed_to_an_active_status_is_a_reopen() -> None:
    derived = rules.derive(
        [opened(), moved(10, "new", "solved"), moved(20, "solved", "pending"), moved(30, "pending", "closed")]
    )
    contributions = list(derived.contributions)

    assert counted(contributions, REOPENED) == [(at(20), "ana", "normal")]
    assert state_at_end(contributions) == {("ana", "closed|normal"): 1}
