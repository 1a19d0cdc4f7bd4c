"""A public comment's mail says the ticket's number ([#1234]), from the member with their signature; a reply
that keeps only that subject (no In-Reply-To, no reply token) finds the ticket by its number."""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import update

from crm.events.v1 import mailer_pb2, tickets_pb2
from crm_contacts.members.models import Member
from crm_events import tickets
from crm_events.mailer import INBOUND_RECEIVED
from crm_mailer.outbound import delivery
from crm_mailer.outbound.transport import MaildirTransport
from crm_platform.events import pack, payload_of
from crm_platform.ids import new_id
from tests.factories import contacts as contact_factories

from .conftest import Inbound


def test_the_comment_mail_carries_the_number_the_members_name_and_signature_and_a_reply_finds_it(
    inbound: Inbound, tmp_path: Path
) -> None:
    acme = inbound.contacts.workspace()
    ana = inbound.contacts.contact(acme, email="ana@example.com")
    luis = contact_factories.member(inbound.contacts.rt.database, acme, "Luis Gil")
    with inbound.contacts.rt.database.unit_of_work() as uow:
        uow.session.execute(update(Member).where(Member.id == luis).values(signature="Luis Gil\nAcme Support"))
        uow.commit()
    ticket_id = new_id()
    comment = tickets_pb2.CommentAdded(
        ticket_id=ticket_id,
        comment_id=new_id(),
        contact_id=ana,
        ticket_subject="Printer on fire",
        body="We are on it.",
        body_html="<p>We are <b>on it</b>.</p><script>x()</script>",
        author_id=luis,
        public=True,
        ticket_number=1234,
        with_signature=True,
    )
    inbound.mailer.consume(pack(tickets.COMMENT_PUBLIC_ADDED, comment, workspace_id=acme, producer="tickets").body)
    delivery.deliver_due(
        inbound.mailer.rt.database, MaildirTransport(tmp_path / "out"), delivery.Composer.of(inbound.mailer.rt)
    )

    box = mailbox.Maildir(tmp_path / "out", create=False)
    [mail] = [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]
    assert mail["Subject"] == "[#1234] Printer on fire"
    assert mail["From"].startswith("Luis Gil <")
    plain = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert plain == "We are on it.\n\n-- \nLuis Gil\nAcme Support\n"
    markup = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "<b>on it</b>" in markup and "<script" not in markup and "Acme Support" in markup

    reply = EmailMessage()
    reply["From"] = "Ana <ana@example.com>"
    reply["To"] = inbound.address(acme)
    reply["Subject"] = "RE: [#1234] Printer on fire"
    reply["Message-ID"] = f"<{new_id()}@example.com>"
    reply.set_content("Still smoking.\n")
    inbound.processed(inbound.send(bytes(reply), to=inbound.address(acme)))

    [event] = [payload_of(e, mailer_pb2.InboundReceived) for e in inbound.mailer.outbox(INBOUND_RECEIVED.name)]
    assert (event.routing.target, event.routing.ticket_id, event.routing.rule) == ("ticket", ticket_id, "ticket_number")
