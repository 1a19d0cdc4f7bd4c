"""Email address status: why an address is inactive, and when a deactivated address may be reactivated.

An address is reactivated only with the contact's explicit consent and at most once every 30 days, counted
from its last reactivation, so that an address that keeps bouncing or complaining is not forced back on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from crm_contacts.record.models import INACTIVE_REASONS
from crm_platform.errors import phrase

REACTIVATION_INTERVAL = timedelta(days=30)
MANUAL_REASONS = ("manual", "invalid")  # what a member may give by hand; the others come from the mailer

# Mailer events -> the reason the address is turned off; a soft bounce changes nothing.
BOUNCE_REASONS = {"hard": "hard_bounce", "mailbox_full": "mailbox_full"}
UNSUBSCRIBED = "unsubscribed"
SPAM_COMPLAINT = "spam_complaint"


def reason_of_bounce(kind: str) -> str | None:
    """The inactive reason for a bounce of this kind, or None when the address stays active (soft bounces)."""
    return BOUNCE_REASONS.get(kind)


def is_known_reason(reason: str) -> bool:
    return reason in INACTIVE_REASONS


def reactivation_available_at(reactivated_at: datetime | None) -> datetime | None:
    """When the address may be reactivated again; None if it never was (no waiting)."""
    return reactivated_at + REACTIVATION_INTERVAL if reactivated_at is not None else None


def reactivation_refusal(reactivated_at: datetime | None, *, now: datetime) -> datetime | None:
    """The moment reactivation becomes possible if it is not possible ``now``; None when it is allowed."""
    available = reactivation_available_at(reactivated_at)
    return available if available is not None and now < available else None


def refusal_detail(address: str, available_at: datetime) -> str:
    return phrase(
        "{address} was reactivated less than 30 days ago; it can be reactivated again from {date} ({moment})",
        address=address,
        date=available_at.date().isoformat(),
        moment=available_at.isoformat(),
    )
