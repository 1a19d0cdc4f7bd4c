"""Service-level targets counted in business time: plain functions, no I/O.

A workspace's calendar says when its team works: intervals per weekday in wall-clock time of an IANA time
zone (``09:00``-``17:00``; ``24:00`` ends a day), and holidays (local dates with no business time at all).
Business time is real elapsed time inside those intervals: each interval's ends are turned into instants
with ``zoneinfo``, so a day on which the clocks change still counts what the wall clock says (09:00-17:00 is
eight hours), and a 24/7 calendar counts the 23 or 25 hours such a day really has.

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

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from crm_platform.errors import FieldError, InvalidInput, msgid, phrase
from crm_tickets.tickets.rules import CLOSED, PENDING, SOLVED, STOPPED

FIRST_RESPONSE, UPDATE, SOLUTION = "first_response", "update", "solution"
TARGETS = (FIRST_RESPONSE, UPDATE, SOLUTION)
PAUSING_STATUSES = (PENDING, STOPPED)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
MAX_TARGET_MINUTES = 365 * DAY_MINUTES  # a year of business minutes at most
MAX_INTERVALS_PER_DAY = 10
MAX_HOLIDAYS = 1000
# No calendar may need longer than this to count a target: it bounds the walk over days (a calendar whose
# only business day is a holiday every year would otherwise never end).
MAX_DAYS_WALKED = 20 * 366


@dataclass(frozen=True)
class Calendar:
    """When business time runs: ``hours[weekday]`` (0 = Monday) are sorted, disjoint ``(start, end)`` minutes
    of the local day (0 <= start < end <= 1440), in ``time_zone``; ``holidays`` are local dates."""

    time_zone: str = "UTC"
    hours: Mapping[int, tuple[tuple[int, int], ...]] = field(
        default_factory=lambda: {day: ((9 * 60, 17 * 60),) for day in range(5)}
    )
    holidays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


ALWAYS = Calendar(hours={day: ((0, DAY_MINUTES),) for day in range(7)})  # 24/7 in UTC


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


# --- business time -------------------------------------------------------------------------------------


def _instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local day's minute (1440: the next day's midnight). A wall time the clocks skip
    (spring forward) reads as the time before the change would say, as ``zoneinfo`` does with fold=0."""
    # Arithmetic on an aware datetime is wall-clock arithmetic; zoneinfo gives the offset of the result's own
    # wall time, so 09:00 on the day the clocks change has that day's offset.
    local = datetime.combine(day, time(), tzinfo=zone) + timedelta(minutes=minute)
    return local.astimezone(UTC)


def _business_intervals(start: datetime, calendar: Calendar) -> Iterable[tuple[datetime, datetime]]:
    """The calendar's business intervals as UTC instants, from the local day of ``start`` on."""
    zone = calendar.zone
    day = start.astimezone(zone).date()
    if not any(calendar.hours.get(weekday) for weekday in range(7)):
        raise ValueError("the calendar has no business hours")
    for _ in range(MAX_DAYS_WALKED):
        if day not in calendar.holidays:
            for opens, closes in calendar.hours.get(day.weekday(), ()):
                yield _instant(day, opens, zone), _instant(day, closes, zone)
        day += timedelta(days=1)
    raise ValueError(f"the calendar has no business time within {MAX_DAYS_WALKED} days")


def add_business_time(start: datetime, amount: timedelta, calendar: Calendar) -> datetime:
    """The instant at which ``amount`` of business time has passed since ``start`` (aware, any zone)."""
    start = start.astimezone(UTC)
    if amount <= timedelta(0):
        return start
    remaining = amount
    for opens, closes in _business_intervals(start, calendar):
        if closes <= start:
            continue
        opens = max(opens, start)
        available = closes - opens
        if available >= remaining:
            return opens + remaining
        remaining -= available
    raise AssertionError("unreachable: _business_intervals raises when it runs out")  # pragma: no cover


def add_business_minutes(start: datetime, minutes: int, calendar: Calendar) -> datetime:
    """``start`` plus ``minutes`` of the calendar's business time, as a UTC instant."""
    return add_business_time(start, timedelta(minutes=minutes), calendar)


def business_time_between(start: datetime, end: datetime, calendar: Calendar) -> timedelta:
    """How much business time lies between two instants (zero when ``end`` is not after ``start``)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in _business_intervals(start, calendar):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return total


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


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _invalid(field_name: str, message: str, code: str) -> InvalidInput:
    """``message``: a ``msgid`` or a ``phrase``, so the catalogs know it."""
    return InvalidInput("the SLA settings have invalid fields", errors=[FieldError(field_name, message, code)])


def parse_clock(value: str, field_name: str) -> int:
    """``HH:MM`` (00:00 to 24:00) as minutes of the day."""
    hours, sep, minutes = value.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()):
        raise _invalid(field_name, msgid("must be a time as HH:MM"), "invalid_time")
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > DAY_MINUTES:
        raise _invalid(field_name, msgid("must be a time from 00:00 to 24:00"), "invalid_time")
    return total


def check_time_zone(name: str, field_name: str = "time_zone") -> str:
    if name not in _zones():
        raise _invalid(field_name, msgid("must be an IANA time zone, e.g. Europe/Madrid"), "invalid_time_zone")
    return name


def check_calendar(
    time_zone: str, hours: Mapping[str, Sequence[tuple[str, str]]], holidays: Sequence[date]
) -> Calendar:
    """A calendar from an admin's input: weekday names to ``(from, to)`` times, sorted and not overlapping."""
    check_time_zone(time_zone)
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise _invalid(
            f"business_hours.{unknown[0]}",
            phrase("must be one of {choices}", choices=", ".join(WEEKDAYS)),
            "invalid_choice",
        )
    parsed: dict[int, tuple[tuple[int, int], ...]] = {}
    for weekday, name in enumerate(WEEKDAYS):
        intervals = list(hours.get(name, ()))
        if len(intervals) > MAX_INTERVALS_PER_DAY:
            raise _invalid(
                f"business_hours.{name}",
                phrase("at most {count} intervals a day", count=MAX_INTERVALS_PER_DAY),
                "too_many",
            )
        day: list[tuple[int, int]] = []
        for index, (opens, closes) in enumerate(intervals):
            where = f"business_hours.{name}.{index}"
            start, end = parse_clock(opens, f"{where}.from"), parse_clock(closes, f"{where}.to")
            if start >= end:
                raise _invalid(f"{where}.to", msgid("must be after from"), "invalid_interval")
            day.append((start, end))
        day.sort()
        for (_, earlier_end), (later_start, _) in itertools.pairwise(day):
            if later_start < earlier_end:
                raise _invalid(f"business_hours.{name}", msgid("intervals must not overlap"), "overlapping_intervals")
        if day:
            parsed[weekday] = tuple(day)
    if not parsed:
        raise _invalid("business_hours", msgid("at least one weekday needs business hours"), "required")
    if len(set(holidays)) > MAX_HOLIDAYS:
        raise _invalid("holidays", phrase("at most {count} holidays", count=MAX_HOLIDAYS), "too_many")
    return Calendar(time_zone=time_zone, hours=parsed, holidays=frozenset(holidays))


def calendar_hours_out(calendar: Calendar) -> dict[str, list[dict[str, str]]]:
    """The calendar's hours as the API shows them: every weekday, with its intervals as HH:MM."""

    def clock(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    return {
        name: [{"from": clock(start), "to": clock(end)} for start, end in calendar.hours.get(weekday, ())]
        for weekday, name in enumerate(WEEKDAYS)
    }


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
