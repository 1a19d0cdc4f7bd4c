"""What a ticket's status does when mail comes and goes: plain functions over a workspace's policy.

Zammad's follow-up settings, as the seeds describe tickets: an agent's public reply may move the ticket to
pending; a customer's reply moves it back to open and reopens a solved one; a reply to a closed ticket
reopens it, or opens a new ticket that links the old one, or does so only once the closed ticket is older
than some days. Automatic replies and bounces never reach these rules (the mailer never routes them as a
person's reply)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from crm_platform.errors import FieldError, InvalidInput
from crm_tickets.tickets.rules import CLOSED, NEW, OPEN, PENDING, SOLVED

FollowUp = Literal["reopen", "new_ticket", "new_ticket_after_days"]


@dataclass(frozen=True)
class Policy:
    """A workspace's automation; the defaults are what a new workspace gets."""

    agent_reply_sets_pending: bool = True
    closed_followup: FollowUp = "reopen"
    followup_after_days: int = 14  # with new_ticket_after_days: a reply to a ticket closed longer ago opens a new one
    auto_close_solved_after_days: int | None = 7  # None: solved tickets stay solved


@dataclass(frozen=True)
class CustomerReplyDecision:
    """Where a customer's reply goes: onto the ticket (moving it to ``to_status``, or leaving it when None),
    or onto a new ticket that follows up the closed one."""

    new_ticket: bool
    to_status: str | None
    reason: str


def after_customer_reply(
    status: str, *, closed_at: datetime | None, now: datetime, policy: Policy
) -> CustomerReplyDecision:
    if status == CLOSED:
        too_old = closed_at is not None and now - closed_at >= timedelta(days=policy.followup_after_days)
        if policy.closed_followup == "new_ticket" or (policy.closed_followup == "new_ticket_after_days" and too_old):
            return CustomerReplyDecision(True, None, "customer replied to a closed ticket: a follow-up ticket")
        return CustomerReplyDecision(False, OPEN, "customer replied to a closed ticket: reopened")
    if status == SOLVED:
        return CustomerReplyDecision(False, OPEN, "customer replied to a solved ticket: reopened")
    if status == PENDING:
        return CustomerReplyDecision(False, OPEN, "customer replied")
    return CustomerReplyDecision(False, None, "customer replied")  # new, open and stopped stay as they are


def after_agent_public_reply(status: str, *, policy: Policy) -> str | None:
    """The status an agent's public reply moves the ticket to, or None to leave it."""
    if status in (NEW, OPEN) and policy.agent_reply_sets_pending:
        return PENDING
    if status == NEW:
        return OPEN  # somebody answered: it is no longer new
    return None


FOLLOWUPS: tuple[FollowUp, ...] = ("reopen", "new_ticket", "new_ticket_after_days")
MIN_DAYS, MAX_DAYS = 1, 3650


def check_policy(
    *,
    agent_reply_sets_pending: bool,
    closed_followup: str,
    followup_after_days: int,
    auto_close_solved_after_days: int | None,
) -> Policy:
    """A policy from an admin's settings, or the fields that are wrong (days from 1 to 3650)."""
    errors = []
    if closed_followup not in FOLLOWUPS:
        errors.append(
            FieldError(
                "closed_followup",
                "must be one of {choices}",
                "invalid_choice",
                params={"choices": ", ".join(FOLLOWUPS)},
            )
        )
    for name, days in (
        ("followup_after_days", followup_after_days),
        ("auto_close_solved_after_days", auto_close_solved_after_days),
    ):
        if days is not None and not MIN_DAYS <= days <= MAX_DAYS:
            errors.append(
                FieldError(
                    name, "must be from {min} to {max} days", "out_of_range", params={"min": MIN_DAYS, "max": MAX_DAYS}
                )
            )
    if errors:
        raise InvalidInput("the automation settings have invalid fields", errors=errors)
    return Policy(
        agent_reply_sets_pending=agent_reply_sets_pending,
        closed_followup=closed_followup,  # type: ignore[arg-type]  # checked above
        followup_after_days=followup_after_days,
        auto_close_solved_after_days=auto_close_solved_after_days,
    )


def quiet_since(
    solved_at: datetime, last_customer_reply_at: datetime | None, last_agent_reply_at: datetime | None
) -> datetime:
    """Since when a solved ticket has had no reply: its solving, or a later reply that left it solved (an
    agent's; a customer's reopens it)."""
    return max(at for at in (solved_at, last_customer_reply_at, last_agent_reply_at) if at is not None)


def closes_automatically(
    status: str,
    *,
    solved_at: datetime | None,
    last_customer_reply_at: datetime | None = None,
    last_agent_reply_at: datetime | None = None,
    now: datetime,
    policy: Policy,
) -> bool:
    """Whether a solved ticket is due to close itself: ``auto_close_solved_after_days`` days without a reply."""
    if status != SOLVED or solved_at is None or policy.auto_close_solved_after_days is None:
        return False
    quiet = quiet_since(solved_at, last_customer_reply_at, last_agent_reply_at)
    return now - quiet >= timedelta(days=policy.auto_close_solved_after_days)
