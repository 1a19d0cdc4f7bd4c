"""What a ticket's facts amount to: its counts, its state day by day, its first response and solution times, its
SLA outcomes. Plain functions, no I/O.

Definitions (the README's ticket report says the same):

- *opened*: ``tickets.ticket.opened``. *solved* / *closed*: every move into that status (a ticket reopened and
  solved again is solved twice; solved then closed counts once in each). *reopened*: a move from solved or
  closed back to an active status. *merged*: a close with the reason ``merged`` (counted in closed too).
- A *resolution* is the first move into solved or closed of a cycle; a reopen starts the next cycle.
- *First response*: the first public comment by a member, not written by automation, at or after the opening;
  one per ticket, dated when it was written. Private notes, customers' and automation's comments never count.
- *Solution time*: from the opening to the ticket's first resolution that is not a merge; one per ticket,
  dated at that resolution. Later cycles show in *reopened*, not in the solution time: the time the customer
  first waited for an answer is what the figure is about.
- *SLA*: per target, the outcome (met or breached) the ticket had at its *latest* resolution that is not a
  merge, dated there: a ticket counts once per target, and a reopened ticket solved again moves to its new
  outcome and day.
  *Breach alerts*: ``tickets.sla.breached`` as they happen (a ticket still open can have them).
- *State*: where a ticket is (status, priority, responsible member) is kept as +1 on entering and -1 on
  leaving, so the sum of every day up to a range's end is how many tickets were in each state at its end.

Every figure is attributed to the ticket's responsible member at the time (the event's own field where it has
one, else what the ticket's assignments said); a first response of an unassigned ticket to its author.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from crm_events import tickets
from crm_reports.durations import DurationRow
from crm_reports.facts import FactRow
from crm_reports.projection import Derived
from crm_reports.rollups import Contribution
from crm_reports.workspaces import Context

OPENED_KIND = tickets.TICKET_OPENED.name
STATUS_CHANGED_KIND = tickets.TICKET_STATUS_CHANGED.name
ASSIGNED_KIND = tickets.TICKET_ASSIGNED.name
PRIORITY_CHANGED_KIND = tickets.TICKET_PRIORITY_CHANGED.name
COMMENT_KIND = tickets.COMMENT_PUBLIC_ADDED.name  # private notes are never a response
SLA_BREACHED_KIND = tickets.SLA_BREACHED.name

STATUSES = ("new", "open", "pending", "stopped", "solved", "closed")
DONE = ("solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
SLA_TARGETS = ("first_response", "update", "solution")
MERGED_REASON = "merged"

OPENED, SOLVED, CLOSED = "ticket_opened", "ticket_solved", "ticket_closed"
REOPENED, MERGED = "ticket_reopened", "ticket_merged"
COUNTED = (OPENED, SOLVED, CLOSED, REOPENED, MERGED)
STATE = "ticket_state"  # +1 entering, -1 leaving; dimension "status|priority"; member: the responsible
FIRST_RESPONSE, SOLUTION = "ticket_first_response", "ticket_solution"  # contributions and durations
SLA = "ticket_sla"  # dimension "target:met" / "target:breached"
SLA_BREACH = "ticket_sla_breach"  # dimension: the target


@dataclass(frozen=True)
class State:
    status: str
    priority: str
    responsible: str

    @property
    def dimension(self) -> str:
        return f"{self.status}|{self.priority}"


def state_of(dimension: str) -> tuple[str, str]:
    """(status, priority) of a ``STATE`` rollup's dimension."""
    status, _, priority = dimension.partition("|")
    return status, priority


class TicketProjection:
    name = "tickets"
    kinds = frozenset(
        {OPENED_KIND, STATUS_CHANGED_KIND, ASSIGNED_KIND, PRIORITY_CHANGED_KIND, COMMENT_KIND, SLA_BREACHED_KIND}
    )

    def derive(self, subject_facts: Sequence[FactRow], context: Context) -> Derived:
        return derive(subject_facts)


PROJECTION = TicketProjection()


def derive(subject_facts: Sequence[FactRow]) -> Derived:
    """One ticket's contributions and durations from its facts, in the order things happened.

    Facts may be missing (not arrived yet): before the opening is known, the ticket is where its status changes
    put it, and no time is measured (there is nothing to measure from); once it arrives, all is derived again."""
    walk = _Walk()
    for fact in subject_facts:
        walk.step(fact)
    return walk.result()


class _Walk:
    """The ticket as its facts go by, and what it has contributed so far."""

    def __init__(self) -> None:
        self.state: State | None = None
        self.priority, self.responsible = "normal", ""
        self.opened_at: datetime | None = None
        self.responded = self.solution_measured = False
        self.in_cycle_resolved = False
        self.latest_outcomes: tuple[datetime, str, list[str]] | None = None  # at, member, outcomes
        self.contributions: list[Contribution] = []
        self.durations: list[DurationRow] = []

    def step(self, fact: FactRow) -> None:
        attrs, at = fact.attrs, fact.occurred_at
        if fact.kind == OPENED_KIND:
            self.priority, self.responsible = attrs.get("priority") or "normal", attrs.get("responsible", "")
            self.opened_at = at
            self._count(OPENED, at)
            self._move(at, attrs.get("status") or "new")
        elif fact.kind == ASSIGNED_KIND:
            self.responsible = attrs.get("responsible", "")
            self._move(at, None)
        elif fact.kind == PRIORITY_CHANGED_KIND:
            self.priority = attrs.get("priority") or self.priority
            self._move(at, None)
        elif fact.kind == STATUS_CHANGED_KIND:
            self._status_changed(fact)
        elif fact.kind == COMMENT_KIND:
            self._commented(fact)
        elif fact.kind == SLA_BREACHED_KIND:
            self.contributions.append(Contribution(SLA_BREACH, at, self.responsible, attrs.get("target", "")))

    def _status_changed(self, fact: FactRow) -> None:
        attrs, at = fact.attrs, fact.occurred_at
        self.responsible = attrs.get("responsible") or self.responsible
        self.priority = attrs.get("priority") or self.priority
        before = self.state.status if self.state is not None else attrs.get("from", "")
        after = attrs.get("to", "")
        self._move(at, after)
        if after == before:
            return
        if after == "solved":
            self._count(SOLVED, at)
        if after == "closed":
            self._count(CLOSED, at)
            if attrs.get("reason") == MERGED_REASON:
                self._count(MERGED, at)
        if before in DONE and after not in DONE:
            self._count(REOPENED, at)
            self.in_cycle_resolved = False
        if after in DONE and before not in DONE and not self.in_cycle_resolved:
            self._resolved(at, merged=attrs.get("reason") == MERGED_REASON, outcomes=attrs.get("sla", []))

    def _resolved(self, at: datetime, *, merged: bool, outcomes: list[str]) -> None:
        self.in_cycle_resolved = True
        if not merged:  # a merged ticket was not solved: its targets say nothing of the team's service
            self.latest_outcomes = (at, self.responsible, list(outcomes))
        if merged or self.solution_measured or self.opened_at is None or at < self.opened_at:
            return
        self.solution_measured = True
        seconds = (at - self.opened_at).total_seconds()
        self.contributions.append(Contribution(SOLUTION, at, self.responsible, self.priority, seconds=seconds))
        self.durations.append(DurationRow(SOLUTION, 0, at, seconds, self.responsible, self.priority))

    def _commented(self, fact: FactRow) -> None:
        at = fact.occurred_at
        if self.responded or self.opened_at is None or at < self.opened_at:
            return
        self.responded = True
        member = fact.attrs.get("responsible") or self.responsible or fact.attrs.get("author", "")
        seconds = (at - self.opened_at).total_seconds()
        self.contributions.append(Contribution(FIRST_RESPONSE, at, member, self.priority, seconds=seconds))
        self.durations.append(DurationRow(FIRST_RESPONSE, 0, at, seconds, member, self.priority))

    def _count(self, metric: str, at: datetime) -> None:
        self.contributions.append(Contribution(metric, at, self.responsible, self.priority))

    def _move(self, at: datetime, status: str | None) -> None:
        """The ticket is now in ``status`` (None: the one it had) with the current priority and responsible."""
        was = self.state
        current = status or (was.status if was is not None else None)
        if current is None:
            return
        now = State(current, self.priority, self.responsible)
        if now == was:
            return
        if was is not None:
            self.contributions.append(Contribution(STATE, at, was.responsible, was.dimension, -1))
        self.contributions.append(Contribution(STATE, at, now.responsible, now.dimension))
        self.state = now

    def result(self) -> Derived:
        found = list(self.contributions)
        if self.latest_outcomes is not None:
            at, member, outcomes = self.latest_outcomes
            found += [Contribution(SLA, at, member, outcome) for outcome in outcomes if _is_outcome(outcome)]
        return Derived(found, self.durations)


def _is_outcome(raw: str) -> bool:
    target, _, outcome = raw.partition(":")
    return bool(target) and outcome in ("met", "breached")
