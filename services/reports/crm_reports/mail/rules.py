"""What a mail message's facts amount to, and the mail report's figures: plain functions, no I/O.

Definitions (the README's mail report says the same):

- *sent*: ``mailer.message.sent``, the receiving server accepted the message; on the day it was sent, per the
  mail's kind (ticket_comment, conversation_message, direct).
- *delivered*: a sent message no bounce was ever heard of for, on the day it was sent. A bounce that comes
  days later (a DSN) takes the message out of delivered on its sent day: past days' delivered can go down.
- *bounced*: ``mailer.delivery.bounced``, on the day of the bounce, per kind: ``hard`` (refused for good,
  also at sending time, when no sent came before), ``mailbox_full`` and ``soft`` (the mailer reports a soft
  bounce once an address has had too many in a row). The *soft* figure counts mailbox_full and soft.
  A bounce is matched to its message by the mailer's message id, or by the Message-ID it gave the mail
  (``<message-id@domain>``); one it cannot match still counts as a bounce.
- *complaints*, *unsubscribes*: ``mailer.recipient.complained`` / ``unsubscribed``, each event once.
- *suppressed*: ``mailer.message.suppressed``, a message not sent because its recipient is blocked or
  inactive, per reason.

Mail belongs to no member: the report is the workspace's, whoever asks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from crm_events import mailer
from crm_reports.facts import FactRow
from crm_reports.projection import Derived
from crm_reports.rollups import Contribution
from crm_reports.workspaces import Context

SENT_KIND = mailer.MESSAGE_SENT.name
BOUNCED_KIND = mailer.DELIVERY_BOUNCED.name
COMPLAINED_KIND = mailer.RECIPIENT_COMPLAINED.name
UNSUBSCRIBED_KIND = mailer.RECIPIENT_UNSUBSCRIBED.name
SUPPRESSED_KIND = mailer.MESSAGE_SUPPRESSED.name

SENT, DELIVERED, BOUNCED = "mail_sent", "mail_delivered", "mail_bounced"
COMPLAINED, UNSUBSCRIBED, SUPPRESSED = "mail_complained", "mail_unsubscribed", "mail_suppressed"
METRICS = (SENT, DELIVERED, BOUNCED, COMPLAINED, UNSUBSCRIBED, SUPPRESSED)
BOUNCE_KINDS = ("hard", "mailbox_full", "soft")
SOFT_KINDS = ("mailbox_full", "soft")
_COUNTED_AS = {COMPLAINED_KIND: COMPLAINED, UNSUBSCRIBED_KIND: UNSUBSCRIBED}
_UNMATCHED = uuid.UUID("5b1f3f0e-8a3c-4f5e-9d43-0b7d6a0c2f11")  # names subjects of bounces matching no message


def message_subject(message_id: str, rfc822_message_id: str) -> str:
    """The subject a message's facts share: the mailer's id, or the one inside the Message-ID the mailer made
    from it (``<id@domain>``); another Message-ID (not ours) gets a subject of its own, so its bounces count."""
    if message_id:
        return message_id
    local = rfc822_message_id.strip().removeprefix("<").removesuffix(">").partition("@")[0]
    if local and len(local) <= 36 and "@" in rfc822_message_id:
        return local
    return str(uuid.uuid5(_UNMATCHED, rfc822_message_id)) if rfc822_message_id else ""


class MailProjection:
    name = "mail"
    kinds = frozenset({SENT_KIND, BOUNCED_KIND, COMPLAINED_KIND, UNSUBSCRIBED_KIND, SUPPRESSED_KIND})

    def derive(self, subject_facts: Sequence[FactRow], context: Context) -> Derived:
        return derive(subject_facts)


PROJECTION = MailProjection()


def derive(subject_facts: Sequence[FactRow]) -> Derived:
    """One message's contributions (or one recipient event's): sent and, unless it bounced, delivered on the
    day it was sent; each bounce on its own day."""
    found: list[Contribution] = []
    sent = [fact for fact in subject_facts if fact.kind == SENT_KIND]
    bounced = any(fact.kind == BOUNCED_KIND for fact in subject_facts)
    if sent:
        first = sent[0]  # the mailer sends a message once; a second sent of it would be the same mail
        kind = str(first.attrs.get("kind", ""))
        found.append(Contribution(SENT, first.occurred_at, dimension=kind))
        if not bounced:
            found.append(Contribution(DELIVERED, first.occurred_at, dimension=kind))
    for fact in subject_facts:
        if fact.kind == BOUNCED_KIND:
            found.append(Contribution(BOUNCED, fact.occurred_at, dimension=str(fact.attrs.get("kind", ""))))
        elif fact.kind == SUPPRESSED_KIND:
            reason = str(fact.attrs.get("reason", ""))[:80]
            found.append(Contribution(SUPPRESSED, fact.occurred_at, dimension=reason))
        elif fact.kind in _COUNTED_AS:
            found.append(Contribution(_COUNTED_AS[fact.kind], fact.occurred_at))
    return Derived(found)
