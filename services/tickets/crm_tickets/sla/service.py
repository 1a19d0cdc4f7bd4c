"""SLA settings (calendar and policies per priority), each ticket's deadlines, and reporting breaches."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, exists, literal, select, update
from sqlalchemy.orm import Session

from crm.events.v1 import tickets_pb2
from crm_events.tickets import SLA_BREACHED
from crm_platform.business_hours import Calendar, calendar_hours_out
from crm_platform.context import Caller, require_admin
from crm_platform.db import Database, UnitOfWork, UtcDateTime, utcnow
from crm_platform.errors import Word
from crm_platform.ids import new_id
from crm_tickets.automation.service import check_version
from crm_tickets.sla import rules
from crm_tickets.sla.models import SlaPolicy, SlaSettings, TicketSla
from crm_tickets.tickets.models import StatusChange, Ticket
from crm_tickets.tickets.rules import CLOSED, PRIORITIES

DEFAULT_CALENDAR = Calendar()  # Monday to Friday, 09:00-17:00 UTC, no holidays


# --- settings ------------------------------------------------------------------------------------------


def _calendar_of(row: SlaSettings | None) -> Calendar:
    if row is None:
        return DEFAULT_CALENDAR
    return rules.check_calendar(
        row.time_zone,
        {day: [tuple(pair) for pair in intervals] for day, intervals in row.business_hours.items()},
        [date.fromisoformat(day) for day in row.holidays],
    )


def _targets_of(row: SlaPolicy) -> rules.Targets:
    return rules.Targets(row.first_response_minutes, row.update_minutes, row.solution_minutes)


def settings_body(session: Session, workspace_id: str) -> dict[str, Any]:
    """The workspace's SLA settings as the API shows them."""
    row = session.get(SlaSettings, workspace_id)
    calendar = _calendar_of(row)
    policies = {p.priority: p for p in session.scalars(select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id))}
    return {
        "time_zone": calendar.time_zone,
        "business_hours": calendar_hours_out(calendar),
        "holidays": sorted(day.isoformat() for day in calendar.holidays),
        "policies": {
            priority: (
                {
                    "id": policies[priority].id,
                    "first_response_minutes": policies[priority].first_response_minutes,
                    "update_minutes": policies[priority].update_minutes,
                    "solution_minutes": policies[priority].solution_minutes,
                }
                if priority in policies
                else None
            )
            for priority in PRIORITIES
        },
        "version": row.version if row is not None else 0,
    }


def get_settings(uow: UnitOfWork, *, caller: Caller) -> dict[str, Any]:
    with uow:
        return settings_body(uow.session, caller.workspace_id)


def put_settings(
    uow: UnitOfWork,
    *,
    caller: Caller,
    time_zone: str,
    business_hours: Mapping[str, list[tuple[str, str]]],
    holidays: list[date],
    policies: Mapping[str, tuple[int | None, int | None, int | None]],
    if_match: str | None = None,
) -> dict[str, Any]:
    """Replace the workspace's calendar and policies (admins only): ``policies`` gives a priority's
    (first response, update, solution) minutes, a priority left out has none. The deadlines of its tickets
    that are not closed are computed again by the breach loop (their rows are marked stale in this
    transaction)."""
    require_admin(caller, "change the SLA settings")
    calendar = rules.check_calendar(time_zone, business_hours, holidays)
    targets_of = {
        priority: rules.check_targets(*minutes, f"policies.{priority}") for priority, minutes in policies.items()
    }
    workspace_id = caller.workspace_id
    with uow:
        session = uow.session
        row = session.get(SlaSettings, workspace_id, with_for_update=True)
        check_version(row.version if row is not None else 0, if_match, Word("SLA settings"))
        if row is None:
            row = SlaSettings(workspace_id=workspace_id, version=0)
            session.add(row)
        row.time_zone = calendar.time_zone
        row.business_hours = {
            day: [[span["from"], span["to"]] for span in spans] for day, spans in calendar_hours_out(calendar).items()
        }
        row.holidays = sorted(day.isoformat() for day in calendar.holidays)
        row.version += 1
        row.updated_at = utcnow()
        row.updated_by = caller.user_id
        existing = {
            p.priority: p for p in session.scalars(select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id))
        }
        for priority in PRIORITIES:
            targets, policy = targets_of.get(priority), existing.get(priority)
            if targets is None:
                if policy is not None:
                    session.delete(policy)
                continue
            if policy is None:  # a priority's policy keeps its id while it exists
                policy = SlaPolicy(id=new_id(), workspace_id=workspace_id, priority=priority)
                session.add(policy)
            policy.first_response_minutes = targets.first_response_minutes
            policy.update_minutes = targets.update_minutes
            policy.solution_minutes = targets.solution_minutes
        session.flush()
        session.execute(
            update(TicketSla)
            .where(TicketSla.workspace_id == workspace_id, TicketSla.ticket_status != CLOSED)
            .values(stale=True)
        )
        _add_missing_rows(session, workspace_id)
        uow.commit()
        return settings_body(session, workspace_id)


def _add_missing_rows(session: Session, workspace_id: str) -> None:
    """Stale rows for the workspace's tickets not closed that have none (opened before SLAs existed, or
    whose opening event the worker has not handled yet): one INSERT ... SELECT, a row the handler made
    meanwhile left as it is."""
    missing = select(
        Ticket.id, Ticket.workspace_id, Ticket.status, literal(True, Boolean()), literal(utcnow(), UtcDateTime())
    ).where(
        Ticket.workspace_id == workspace_id,
        Ticket.status != CLOSED,
        ~exists().where(TicketSla.ticket_id == Ticket.id),
    )
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    columns = ["ticket_id", "workspace_id", "ticket_status", "stale", "computed_at"]
    session.execute(upsert(TicketSla).from_select(columns, missing).on_conflict_do_nothing())


# --- a ticket's deadlines ------------------------------------------------------------------------------


def _clock(session: Session, ticket: Ticket) -> rules.TicketClock:
    history = session.execute(
        select(StatusChange.changed_at, StatusChange.to_status)
        .where(StatusChange.workspace_id == ticket.workspace_id, StatusChange.ticket_id == ticket.id)
        .order_by(StatusChange.changed_at, StatusChange.id)
    ).all()
    return rules.TicketClock(
        created_at=ticket.created_at,
        status=ticket.status,
        first_response_at=ticket.first_response_at,
        last_customer_reply_at=ticket.last_customer_reply_at,
        last_agent_reply_at=ticket.last_agent_reply_at,
        solved_at=ticket.solved_at,
        closed_at=ticket.closed_at,
        pauses=tuple(rules.pauses_from([(at, status) for at, status in history])),
    )


def _breached(row: TicketSla) -> list[str]:
    return [target for target in rules.TARGETS if row.breached_at(target) is not None]


def _deadlines_of(row: TicketSla) -> rules.Deadlines:
    def one(target: str) -> rules.Deadline | None:
        due, met = getattr(row, f"{target}_due_at"), getattr(row, f"{target}_met")
        return None if due is None and met is None else rules.Deadline(due, met)

    return rules.Deadlines(*(one(target) for target in rules.TARGETS))


def recompute(session: Session, ticket: Ticket, *, now: datetime | None = None) -> TicketSla:
    """Compute the ticket's deadlines again (its priority's policy, the workspace's calendar, its status
    history) and store them; the targets already reported breached stay reported."""
    workspace_id = ticket.workspace_id
    policy = session.scalars(
        select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id, SlaPolicy.priority == ticket.priority)
    ).one_or_none()
    found = rules.Deadlines()
    if policy is not None:
        calendar = _calendar_of(session.get(SlaSettings, workspace_id))
        found = rules.deadlines(_clock(session, ticket), _targets_of(policy), calendar)
    row = session.get(TicketSla, ticket.id, with_for_update=True)
    if row is None:
        row = TicketSla(ticket_id=ticket.id, workspace_id=workspace_id, ticket_status=ticket.status)
        session.add(row)
    row.policy_id = policy.id if policy is not None else None
    row.ticket_status = ticket.status
    for target in rules.TARGETS:
        deadline = found.of(target)
        setattr(row, f"{target}_due_at", deadline.due_at if deadline else None)
        setattr(row, f"{target}_met", deadline.met if deadline else None)
    row.next_due_at = found.next_due_at(_breached(row))
    row.stale = False
    row.computed_at = now or utcnow()
    return row


def outcomes(session: Session, ticket: Ticket) -> list[str]:
    """``rules.outcomes`` of a ticket just solved or closed (its status, timestamps and history row are in
    ``session``): its deadlines computed as of now under its priority's policy, and the breaches the
    breach check reported before. The stored row is left to the handler of the status event."""
    policy = session.scalars(
        select(SlaPolicy).where(SlaPolicy.workspace_id == ticket.workspace_id, SlaPolicy.priority == ticket.priority)
    ).one_or_none()
    if policy is None:
        return []
    calendar = _calendar_of(session.get(SlaSettings, ticket.workspace_id))
    found = rules.deadlines(_clock(session, ticket), _targets_of(policy), calendar)
    row = session.get(TicketSla, ticket.id)
    return rules.outcomes(found, _breached(row) if row is not None else ())


def recompute_ticket(uow: UnitOfWork, *, workspace_id: str, ticket_id: str) -> None:
    """The handlers' entry: the ticket's deadlines computed again, in the handler's transaction (a ticket
    of another workspace, or gone, is left alone)."""
    ticket = uow.session.get(Ticket, ticket_id)
    if ticket is None or ticket.workspace_id != workspace_id:
        return
    recompute(uow.session, ticket)


STALE_BATCH = 200
BREACH_BATCH = 200


def refresh_stale(database: Database, *, now: datetime | None = None, batch: int = STALE_BATCH) -> int:
    """Compute again up to ``batch`` deadlines whose workspace's settings changed; returns how many."""
    with database.unit_of_work() as uow:
        ids = uow.session.scalars(
            select(TicketSla.ticket_id).where(TicketSla.stale.is_(True)).limit(batch).with_for_update(skip_locked=True)
        ).all()
        for ticket in uow.session.scalars(select(Ticket).where(Ticket.id.in_(ids))):
            recompute(uow.session, ticket, now=now)
        uow.commit()
    return len(ids)


def report_breaches(database: Database, *, now: datetime | None = None, batch: int = BREACH_BATCH) -> int:
    """Emit ``tickets.sla.breached`` once per ticket and target for the deadlines due by ``now`` and not met
    (the indexed look at ``next_due_at``), in one transaction with the rows marking them reported; returns
    how many breaches it reported."""
    now = now or utcnow()
    reported = 0
    with database.unit_of_work() as uow:
        session = uow.session
        due = session.execute(
            select(TicketSla, Ticket)
            .join(Ticket, Ticket.id == TicketSla.ticket_id)
            .where(TicketSla.next_due_at <= now, TicketSla.stale.is_(False))
            .order_by(TicketSla.next_due_at)
            .limit(batch)
            .with_for_update(skip_locked=True, of=TicketSla)
        ).all()
        for row, ticket in due:
            deadlines = _deadlines_of(row)
            for target, due_at in deadlines.breaches(now, _breached(row)):
                setattr(row, f"{target}_breached_at", now)
                uow.emit(
                    SLA_BREACHED,
                    tickets_pb2.SlaBreached(
                        ticket_id=ticket.id,
                        contact_id=ticket.contact_id,
                        number=ticket.number or 0,
                        priority=ticket.priority,
                        target=target,
                        due_at=due_at.isoformat(),
                        breached_at=now.isoformat(),
                        policy_id=row.policy_id or "",
                    ),
                    workspace_id=ticket.workspace_id,
                )
                reported += 1
            row.next_due_at = deadlines.next_due_at(_breached(row))
        uow.commit()
    return reported


# --- the ticket's JSON ---------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_part(row: Any) -> dict[str, Any] | None:
    """A ticket's ``sla``: None when no policy applies (or its deadlines are not computed yet). ``row``: its
    TicketSla, or anything with the same attributes (a list's Core row of them)."""
    if row is None or row.policy_id is None:
        return None
    return {
        "policy": row.policy_id,
        "first_response_due_at": _iso(row.first_response_due_at),
        "first_response_met": row.first_response_met,
        "update_due_at": _iso(row.update_due_at),
        "update_met": row.update_met,
        "solution_due_at": _iso(row.solution_due_at),
        "solution_met": row.solution_met,
        "breached": [target for target in rules.TARGETS if getattr(row, f"{target}_breached_at") is not None],
    }
