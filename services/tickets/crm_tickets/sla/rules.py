"""Service-level targets counted in business time: plain functions, no I/O.

A workspace's calendar says when its team works; the business time counted on it is
``crm_platform.business_hours`` (shared with the reports).

A policy (one per priority, each optional) gives up to three targets in business minutes:

- ``first_response``: due ``first_response`` minutes after the ticket was opened; met when the first
  response came by then. Solving or closing a ticket before anyone answered stops this clock too (met when
  that happened by the due time).
- ``update``: due ``update`` minutes after the latest reply, either side's (the first response counts):
  every reply starts it again. It runs only once somebody replied (before, ``first_response`` is the
  target) and stops when the ticket is solved or closed.
- ``solution``: due ``solution`` minutes after the ticket was opened; met when it was solved (or closed) by
  then. Reopening a solved ticket starts it running again from the same start.

The clocks pause while the ticket is ``pending`` (waiting for the contact) or ``stopped`` (on hold), as
Zammad does for its pending states: business time spent in them does not count, and while a ticket is in
one of them its running targets have no due time. Once a target is met or missed, pauses after that do not
change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crm_platform import business_hours
from crm_platform.business_hours import DAY_MINUTES, Calendar, add_business_time, business_time_between
from crm_platform.errors import FieldError, InvalidInput, msgid, phrase
from crm_tickets.tickets.rules import CLOSED, PENDING, SOLVED, STOPPED

FIRST_RESPONSE, UPDATE, SOLUTION = "first_response", "update", "solution"
TARGETS = (FIRST_RESPONSE, UPDATE, SOLUTION)
PAUSING_STATUSES = (PENDING, STOPPED)
MAX_TARGET_MINUTES = 365 * DAY_MINUTES  # a year of business minutes at most
SETTINGS_INVALID = msgid("the SLA settings have invalid fields")


@dataclass(frozen=True)
class Targets:
    """A priority's policy: each target in business minutes, None when the policy has none."""

    first_response_minutes: int | None = None
    update_minutes: int | None = None
    solution_minutes: int | None = None

    def minutes(self, target: str) -> int | None:
        return {
            FIRST_RESPONSE: self.first_response_minutes,
            UPDATE: self.update_minutes,
            SOLUTION: self.solution_minutes,
        }[target]


# --- pauses and deadlines ------------------------------------------------------------------------------

Pause = tuple[datetime, datetime | None]  # from, until (None: still paused)


def pauses_from(history: Sequence[tuple[datetime, str]]) -> list[Pause]:
    """The intervals a ticket spent in a pausing status, from its status history ``(changed_at, to_status)``
    in order; the last one is open (None) when the ticket is in such a status now."""
    pauses: list[Pause] = []
    since: datetime | None = None
    for changed_at, status in history:
        if status in PAUSING_STATUSES:
            if since is None:
                since = changed_at
        elif since is not None:
            pauses.append((since, changed_at))
            since = None
    if since is not None:
        pauses.append((since, None))
    return pauses


def due_at(
    start: datetime, minutes: int, calendar: Calendar, pauses: Sequence[Pause] = (), *, stop: datetime | None = None
) -> datetime | None:
    """When ``minutes`` of business time have passed since ``start``, not counting what falls in ``pauses``;
    None while the clock is paused (an open pause it has not reached its due time before).

    ``stop`` is when the target was met or missed: pauses from then on are left out (they change nothing)."""
    cursor = start
    remaining = timedelta(minutes=minutes)
    for paused_from, paused_until in sorted(pauses, key=lambda pause: pause[0]):
        if stop is not None and paused_from >= stop:
            break
        if paused_until is not None and stop is not None:
            paused_until = min(paused_until, stop)
        if paused_until is None and stop is not None:
            paused_until = stop
        if paused_until is not None and paused_until <= cursor:
            continue
        paused_from = max(paused_from, cursor)
        candidate = add_business_time(cursor, remaining, calendar)
        if candidate <= paused_from:
            return candidate
        remaining -= business_time_between(cursor, paused_from, calendar)
        if paused_until is None:
            return None
        cursor = paused_until
    return add_business_time(cursor, remaining, calendar)


@dataclass(frozen=True)
class TicketClock:
    """What of a ticket its deadlines depend on."""

    created_at: datetime
    status: str
    first_response_at: datetime | None = None
    last_customer_reply_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()

    @property
    def finished_at(self) -> datetime | None:
        """When the ticket was solved (or closed without being solved); None while it is still active."""
        if self.status in (SOLVED, CLOSED):
            return self.solved_at or self.closed_at
        return None


@dataclass(frozen=True)
class Deadline:
    """One target of a ticket: its due time (None: paused or not running) and whether it was met (None:
    still running)."""

    due_at: datetime | None
    met: bool | None


@dataclass(frozen=True)
class Deadlines:
    first_response: Deadline | None = None  # None: the policy has no such target (or it does not run yet)
    update: Deadline | None = None
    solution: Deadline | None = None

    def of(self, target: str) -> Deadline | None:
        return {FIRST_RESPONSE: self.first_response, UPDATE: self.update, SOLUTION: self.solution}[target]

    def pending(self, already_breached: Iterable[str] = ()) -> list[tuple[str, datetime]]:
        """The targets not met (running or missed) and not yet reported, with their due times."""
        skip = set(already_breached)
        found = []
        for target in TARGETS:
            deadline = self.of(target)
            if target in skip or deadline is None or deadline.due_at is None or deadline.met is True:
                continue
            found.append((target, deadline.due_at))
        return found

    def next_due_at(self, already_breached: Iterable[str] = ()) -> datetime | None:
        """The earliest due time the breach check must look at again; None when nothing can breach."""
        return min((due for _, due in self.pending(already_breached)), default=None)

    def breaches(self, now: datetime, already_breached: Iterable[str] = ()) -> list[tuple[str, datetime]]:
        """The targets due by ``now`` and not met, not yet reported."""
        return [(target, due) for target, due in self.pending(already_breached) if due <= now]


def _deadline(start: datetime, minutes: int, calendar: Calendar, clock: TicketClock, stop: datetime | None) -> Deadline:
    try:
        due = due_at(start, minutes, calendar, clock.pauses, stop=stop)
    except ValueError:  # the calendar has no business time for it within MAX_DAYS_WALKED: it never falls due
        due = None
    if stop is None:
        return Deadline(due, None)
    return Deadline(due, due is not None and stop <= due)


def deadlines(clock: TicketClock, targets: Targets | None, calendar: Calendar) -> Deadlines:
    """A ticket's deadlines under a policy and calendar (see the module's description of each target)."""
    if targets is None:
        return Deadlines()
    finished = clock.finished_at
    first_response = update = solution = None
    if targets.first_response_minutes is not None:
        stop = clock.first_response_at or finished
        first_response = _deadline(clock.created_at, targets.first_response_minutes, calendar, clock, stop)
    replies = [at for at in (clock.first_response_at, clock.last_customer_reply_at, clock.last_agent_reply_at) if at]
    if targets.update_minutes is not None and replies:
        latest = max(replies)
        if finished is None or latest < finished:
            update = _deadline(latest, targets.update_minutes, calendar, clock, finished)
    if targets.solution_minutes is not None:
        solution = _deadline(clock.created_at, targets.solution_minutes, calendar, clock, finished)
    return Deadlines(first_response, update, solution)


def outcomes(found: Deadlines, already_breached: Iterable[str] = ()) -> list[str]:
    """What a finished (solved or closed) ticket's SLA came to: ``"target:met"`` or ``"target:breached"`` per
    target its policy had, in ``TARGETS`` order; empty without a policy.

    ``found`` are the deadlines computed as the ticket finished (``deadlines`` with its solved or closed time),
    so a target nobody reached by then counts as the module's rules say: ``first_response`` stopped by the
    solution (met when it came by the due time), ``solution`` met when solved by its due time, ``update`` met
    when the ticket was solved before the latest reply's due time. A target with no deadline is left out: the
    policy has none, ``update`` when nobody ever replied, or a calendar with no business time to count it on.
    A target the breach check already reported (``already_breached``, e.g. an ``update`` missed between
    earlier replies) stays breached, whatever the last cycle did: consumers saw ``tickets.sla.breached`` for it."""
    reported = set(already_breached)
    found_outcomes = []
    for target in TARGETS:
        deadline = found.of(target)
        if deadline is None or deadline.due_at is None:
            continue
        met = deadline.met is True and target not in reported
        found_outcomes.append(f"{target}:{'met' if met else 'breached'}")
    return found_outcomes


# --- checking an admin's calendar and policies ---------------------------------------------------------


def _invalid(field_name: str, message: str, code: str) -> InvalidInput:
    """``message``: a ``msgid`` or a ``phrase``, so the catalogs know it."""
    return InvalidInput(SETTINGS_INVALID, errors=[FieldError(field_name, message, code)])


def check_calendar(
    time_zone: str, hours: Mapping[str, Sequence[tuple[str, str]]], holidays: Sequence[date]
) -> Calendar:
    """The SLA calendar from an admin's input (``business_hours.check_calendar``, named as the SLA settings)."""
    return business_hours.check_calendar(time_zone, hours, holidays, detail=SETTINGS_INVALID)


def check_targets(
    first_response_minutes: int | None, update_minutes: int | None, solution_minutes: int | None, field_name: str
) -> Targets:
    """A priority's policy from an admin's input: at least one target, each 1 minute to a year."""
    given = {
        "first_response_minutes": first_response_minutes,
        "update_minutes": update_minutes,
        "solution_minutes": solution_minutes,
    }
    if all(minutes is None for minutes in given.values()):
        raise _invalid(field_name, msgid("a policy needs at least one target"), "required")
    for name, minutes in given.items():
        if minutes is not None and not 1 <= minutes <= MAX_TARGET_MINUTES:
            raise _invalid(
                f"{field_name}.{name}",
                phrase("must be from {min} to {max} minutes", min=1, max=MAX_TARGET_MINUTES),
                "out_of_range",
            )
    return Targets(first_response_minutes, update_minutes, solution_minutes)
