"""A workspace's automation policy: read by the use cases, changed by admins; and solved tickets closing
themselves."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm_platform.context import Caller, require_admin
from crm_platform.db import Database, UnitOfWork, utcnow
from crm_platform.errors import PreconditionFailed, Word, phrase
from crm_tickets.automation.models import AutomationSettings
from crm_tickets.automation.rules import Policy, check_policy
from crm_tickets.tickets.models import Ticket
from crm_tickets.tickets.rules import CLOSED, SOLVED, SYSTEM

DEFAULTS = Policy()
AUTO_CLOSE_REASON = "auto_close"


def _policy_of(row: AutomationSettings | None) -> Policy:
    if row is None:
        return DEFAULTS
    return Policy(
        agent_reply_sets_pending=row.agent_reply_sets_pending,
        closed_followup=row.closed_followup,  # type: ignore[arg-type]  # checked when saved
        followup_after_days=row.followup_after_days,
        auto_close_solved_after_days=row.auto_close_solved_after_days,
    )


_CACHE = "crm_tickets.automation.policies"  # in session.info: the policies this session (one request) read


def policy_for(session: Session, workspace_id: str) -> Policy:
    """The workspace's policy: its saved settings, or the defaults. One primary-key lookup per session (a
    request's or an event's unit of work); later calls in it are answered from ``session.info``."""
    cached: dict[str, Policy] = session.info.setdefault(_CACHE, {})
    if workspace_id not in cached:
        cached[workspace_id] = _policy_of(session.get(AutomationSettings, workspace_id))
    return cached[workspace_id]


def settings_body(policy: Policy, version: int) -> dict[str, Any]:
    return {**asdict(policy), "version": version}


def get_settings(uow: UnitOfWork, *, caller: Caller) -> tuple[Policy, int]:
    """The caller's workspace's policy and its version (0 while it has the defaults)."""
    with uow:
        row = uow.session.get(AutomationSettings, caller.workspace_id)
        return _policy_of(row), row.version if row is not None else 0


def check_version(current: int, if_match: str | None, what: Word) -> None:
    """Refuse a write made on a stale read (``If-Match: "<version>"``; ``*`` or none: any)."""
    if if_match is None:
        return
    wanted = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if "*" not in wanted and str(current) not in wanted:
        raise PreconditionFailed(
            phrase(
                "the {what} are at version {current}, not {wanted}; read them again and retry",
                what=what,
                current=current,
                wanted=if_match,
            ),
            extra={"current_version": current},
        )


def put_settings(
    uow: UnitOfWork, *, caller: Caller, values: dict[str, Any], if_match: str | None = None
) -> tuple[Policy, int]:
    """Replace the workspace's automation settings (admins only)."""
    require_admin(caller, "change the automation settings")
    policy = check_policy(**values)
    with uow:
        row = uow.session.get(AutomationSettings, caller.workspace_id, with_for_update=True)
        check_version(row.version if row is not None else 0, if_match, Word("automation settings"))
        if row is None:
            row = AutomationSettings(workspace_id=caller.workspace_id, version=0)
            uow.session.add(row)
        row.agent_reply_sets_pending = policy.agent_reply_sets_pending
        row.closed_followup = policy.closed_followup
        row.followup_after_days = policy.followup_after_days
        row.auto_close_solved_after_days = policy.auto_close_solved_after_days
        row.version += 1
        row.updated_at = utcnow()
        row.updated_by = caller.user_id
        uow.commit()
        return policy, row.version


# --- closing solved tickets ----------------------------------------------------------------------------

AUTO_CLOSE_BATCH = 200


def _quiet_before(cutoff: datetime) -> Any:
    """No reply since ``cutoff`` (a customer's reopens a solved ticket; an agent's may leave it solved)."""
    return (
        (Ticket.solved_at <= cutoff)
        & or_(Ticket.last_customer_reply_at.is_(None), Ticket.last_customer_reply_at <= cutoff)
        & or_(Ticket.last_agent_reply_at.is_(None), Ticket.last_agent_reply_at <= cutoff)
    )


def close_quiet_solved(database: Database, *, now: datetime | None = None, batch: int = AUTO_CLOSE_BATCH) -> int:
    """Close, through ``move_status`` (actor ``system``, reason ``auto_close``), up to ``batch`` solved tickets
    that have had no reply for their workspace's ``auto_close_solved_after_days``; returns how many.

    One query per distinct number of days the workspaces chose (and one for those on the default), each on
    the tickets' (status, solved_at) index; the rows are locked (skipping those another worker holds) and
    closed in one transaction."""
    from crm_tickets.tickets.service import move_status  # the tickets feature imports automation's rules

    now = now or utcnow()
    closed = 0
    with database.unit_of_work() as uow:
        session = uow.session
        saved = AutomationSettings.workspace_id
        chosen = session.scalars(
            select(AutomationSettings.auto_close_solved_after_days)
            .where(AutomationSettings.auto_close_solved_after_days.is_not(None))
            .distinct()
        ).all()
        groups: list[tuple[int, Any]] = [
            (
                days,
                Ticket.workspace_id.in_(select(saved).where(AutomationSettings.auto_close_solved_after_days == days)),
            )
            for days in chosen
            if days is not None
        ]
        if DEFAULTS.auto_close_solved_after_days is not None:
            groups.append((DEFAULTS.auto_close_solved_after_days, Ticket.workspace_id.not_in(select(saved))))
        for days, in_group in groups:
            left = batch - closed
            if left <= 0:
                break
            query = (
                select(Ticket)
                .where(Ticket.status == SOLVED, _quiet_before(now - timedelta(days=days)), in_group)
                .order_by(Ticket.solved_at)
                .limit(left)
                .with_for_update(skip_locked=True, of=Ticket)
            )
            for ticket in session.scalars(query):
                if move_status(uow, ticket, CLOSED, actor_id=SYSTEM, reason=AUTO_CLOSE_REASON, now=now):
                    closed += 1
        uow.commit()
    return closed
