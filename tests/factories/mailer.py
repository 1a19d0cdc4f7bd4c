"""Factories of the mailer's data: outbound mail rows, built in memory (saved only by a test that wants to), and
the set-up most mailer tests begin with: a workspace in contacts with a contact, and a mail queued for it or
one already sent about a ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from crm_mailer.domains.dkim import DomainKey
from crm_mailer.outbound import rules
from crm_mailer.outbound.delivery import Composer
from crm_mailer.outbound.models import QUEUED, SENT, OutboundMessage
from crm_mailer.outbound.service import Sender
from crm_mailer.outbound.settings import Addressing
from crm_mailer.outbound.tokens import TokenKey
from crm_platform.ids import new_id

if TYPE_CHECKING:
    from tests.support.stack import ContactsPeer, RunningService

SENDER = Sender(address="Acme Support <support@acme.test>", domain="acme.test")
TOKEN_KEY = TokenKey(b"unit-tests-only-token-key-0123456789abcdef")
ADDRESSING = Addressing(
    token_key=TOKEN_KEY,
    inbound_domain="in.acme.test",
    platform_domain="acme.test",
    local_part="support",
    public_url="https://mail.acme.test",
)


def composer(*, verified: dict[str, str] | None = None, keys: dict[str, DomainKey] | None = None) -> Composer:
    """A Composer without a database: ``verified`` maps a workspace to its verified domain, ``keys`` a domain to
    the key that signs for it."""
    verified, keys = verified or {}, keys or {}
    return Composer(
        addressing=ADDRESSING,
        default_name="Acme Support",
        lookup_domain=verified.get,
        lookup_key=lambda _workspace, sender: keys.get(sender.rsplit("@", 1)[1]),
    )


def outbound_message(**fields: Any) -> OutboundMessage:
    """A queued mail of a public comment, as ``queue`` writes it for ``ticket_comment_request``; ``fields`` override."""
    outbound_id, ticket_id = new_id(), fields.pop("ticket_id", new_id())
    values: dict[str, Any] = {
        "id": outbound_id,
        "workspace_id": new_id(),
        "source_event_id": new_id(),
        "ticket_id": ticket_id,
        "contact_id": new_id(),
        "recipient": "ana@example.com",
        "subject": rules.ticket_subject(ticket_id, "Printer on fire"),
        "body": "We are on it.",
        "rfc822_message_id": rules.message_id(outbound_id, SENDER.domain),
        "status": QUEUED,
        "attempts": 0,
        "last_error": None,
        "created_at": datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
        "next_attempt_at": datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
        "sent_at": None,
    }
    return OutboundMessage(**(values | fields))


class Recipient(NamedTuple):
    """A workspace of the contacts peer and a contact in it (``acme, ana = recipient(peer)``)."""

    workspace_id: str
    contact_id: str


def recipient(
    peer: ContactsPeer,
    *,
    email: str | None = "ana@example.com",
    name: str = "Ana López",
    workspace_id: str | None = None,
) -> Recipient:
    """A contact with that address in a new workspace (or the one given)."""
    workspace_id = workspace_id or peer.workspace()
    return Recipient(workspace_id, peer.contact(workspace_id, name=name, email=email))


def queued_comment_mail(
    mailer: RunningService,
    peer: ContactsPeer,
    *,
    email: str | None = "ana@example.com",
    name: str = "Ana López",
    workspace_id: str | None = None,
    ticket_id: str | None = None,
) -> Recipient:
    """A contact (see ``recipient``) and the mail of a public comment to it, queued as the mailer's consumer queues
    it from the tickets event."""
    from tests.factories import tickets

    to = recipient(peer, email=email, name=name, workspace_id=workspace_id)
    mailer.consume(tickets.public_comment_added(to.workspace_id, to.contact_id, ticket_id=ticket_id))
    return to


def sent_mail(
    mailer: RunningService, workspace_id: str, ticket_id: str, *, recipient_address: str = "ana@example.com"
) -> str:
    """A mail about a ticket that went out, stored as the outbound side stores it; returns its Message-ID (what a
    reply names in In-Reply-To)."""
    outbound_id = new_id()
    message = outbound_message(
        id=outbound_id,
        workspace_id=workspace_id,
        ticket_id=ticket_id,
        recipient=recipient_address,
        rfc822_message_id=f"<{outbound_id}@{SENDER.domain}>",
        status=SENT,
    )
    with mailer.rt.database.unit_of_work() as uow:
        uow.session.add(message)
        uow.commit()
    return message.rfc822_message_id
