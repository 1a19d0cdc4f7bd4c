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
