"""Mail received over real SMTP on loopback: what is refused at the door, and what each kind of mail becomes."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from crm.events.v1 import mailer_pb2
from crm_contacts.contacts import emailstatus
from crm_contacts.contacts import service as contact_service
from crm_events.mailer import DELIVERY_BOUNCED, INBOUND_RECEIVED
from crm_mailer.inbound import smtp
from crm_mailer.inbound.models import DROPPED, QUARANTINED, RECORDED, ROUTED
from crm_mailer.outbound import tokens
from crm_mailer.outbound.tokens import key_for
from crm_platform.bus import Delivery
from crm_platform.consumer import IdempotentConsumer
from crm_platform.context import Caller
from crm_platform.events import payload_of
from crm_platform.ids import new_id
from crm_platform.metrics import exposition
from tests.factories import mailer as mailer_factories
from tests.support.infra import free_port
from tests.support.stack import running

from .conftest import INBOUND_DOMAIN, TRUSTED_RELAY, Inbound, crlf, fixture


def person_mail(*, subject: str = "Re: la impresora", in_reply_to: str | None = None, extra: str = "") -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ana Ruiz <ana@example.com>"
    mail["To"] = "soporte@acme.test"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{new_id()}@example.com>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    mail.set_content("Ya funciona, gracias.\n\nEl lun, 3 jun 2024 a las 10:00, Soporte escribió:\n> ¿Sigue fallando?\n")
    return extra.encode() + bytes(mail)


def received_events(inbound: Inbound) -> list[mailer_pb2.InboundReceived]:
    return [payload_of(e, mailer_pb2.InboundReceived) for e in inbound.mailer.outbox(INBOUND_RECEIVED.name)]


def test_a_reply_lands_with_its_routing_in_the_event(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    ana = inbound.contacts.contact(acme, email="ana@example.com")
    ticket_id = new_id()
    message_id = mailer_factories.sent_mail(inbound.mailer, acme, ticket_id)

    stored = inbound.send(person_mail(in_reply_to=message_id), to=inbound.address(acme))

    row = inbound.processed(stored)
    [event] = received_events(inbound)
    assert (row.status, row.kind, row.workspace_id, row.contact_id) == (ROUTED, "person", acme, ana)
    assert (event.routing.target, event.routing.ticket_id, event.routing.rule) == ("ticket", ticket_id, "references")
    assert event.routing.why == "In-Reply-To/References name a stored message"
    assert (event.sender, event.sender_name, event.subject) == ("ana@example.com", "Ana Ruiz", "Re: la impresora")
    assert event.reply_text == "Ya funciona, gracias."
    assert (event.inbound_id, event.raw_url, event.contact_id) == (stored, f"/v1/mailer/inbound/{stored}/raw", ana)


def test_mail_from_someone_new_starts_a_conversation_with_a_new_contact(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()

    row = inbound.processed(inbound.send(person_mail(subject="Hola"), to=inbound.address(acme)))

    [event] = received_events(inbound)
    assert (row.route_target, row.route_rule) == ("new_conversation", "new")
    assert (event.routing.target, event.contact_created) == ("new_conversation", True)


@pytest.mark.parametrize(
    "address",
    [
        "someone@in.acme.test",  # not an inbound address
        f"01a232fe-0000-7000-8000-000000000000@{INBOUND_DOMAIN}",  # a workspace that does not exist (fixed id:
        # the test id names it, and parallel runs must collect the same tests)
        "support@elsewhere.test",  # not our domain: no relaying
    ],
)
def test_an_unknown_recipient_is_refused_at_rcpt_time_with_550(inbound: Inbound, address: str) -> None:
    inbound.contacts.workspace()
    with inbound.smtp() as client:
        client.mail("sender@example.com")
        code, text = client.rcpt(address)

    assert code == 550, text
    assert inbound.mailer.outbox() == []


def test_a_message_over_the_size_limit_is_refused_with_552(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    big = crlf(person_mail() + b"b" * 900 + b"\n") * 250

    with inbound.smtp() as client:
        client.mail("sender@example.com")
        assert client.rcpt(inbound.address(acme))[0] == 250
        refused, _text = client.data(big)
    with inbound.smtp() as client:  # and a sender that announces the size is refused before sending it
        code, _text = client.mail("sender@example.com", options=[f"SIZE={len(big)}"])

    assert refused == 552
    assert code == 552
    assert received_events(inbound) == []


def test_a_hard_dsn_from_the_corpus_makes_contacts_mark_the_address_inactive(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    inbound.contacts.contact(acme, name="Nadie", email="nadie@example.com")

    row = inbound.processed(inbound.send(fixture("postfix_dsn_hard.eml"), to=inbound.address(acme), mail_from=""))
    [bounced] = inbound.mailer.outbox(DELIVERY_BOUNCED.name)
    contacts_rt = inbound.contacts.rt
    IdempotentConsumer("contacts", contacts_rt.database, contacts_rt.spec.subscriptions, contacts_rt)(
        Delivery(body=bounced.SerializeToString(), event_type=bounced.type, attempt=1)
    )

    assert (row.status, row.kind) == (RECORDED, "bounce")
    assert payload_of(bounced, mailer_pb2.DeliveryBounced).kind == "hard"
    assert received_events(inbound) == []
    answer = emailstatus.is_email_sendable(
        contacts_rt.database.unit_of_work(), workspace_id=acme, address="nadie@example.com", campaign=False
    )
    assert (answer.sendable, answer.reason) == (False, "inactive:hard_bounce")


def test_a_bounce_to_our_verp_address_names_the_message_it_is_about(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    sent = mailer_factories.sent_mail(inbound.mailer, acme, new_id(), recipient_address="nadie@example.com")
    outbound_id = sent.strip("<>").split("@")[0]
    rt = inbound.mailer.rt
    key = key_for(rt.service_settings.token_key, rt.settings)
    verp = tokens.address(key, tokens.BOUNCE, INBOUND_DOMAIN, workspace_id=acme, subject_id=outbound_id)

    row = inbound.processed(inbound.send(fixture("postfix_dsn_hard.eml"), to=verp, mail_from=""))

    [bounced] = inbound.mailer.outbox(DELIVERY_BOUNCED.name)
    payload = payload_of(bounced, mailer_pb2.DeliveryBounced)
    assert (row.status, row.workspace_id, bounced.workspace_id) == (RECORDED, acme, acme)
    assert (payload.message_id, payload.recipient, payload.kind) == (outbound_id, "nadie@example.com", "hard")


def test_a_bounce_quoting_our_message_id_names_that_message_and_a_stranger_names_none(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    sent = mailer_factories.sent_mail(inbound.mailer, acme, new_id(), recipient_address="nadie@example.com")
    quoting_ours = fixture("postfix_dsn_hard.eml").replace(
        b"<0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@mail.acme.test>", sent.encode()
    )

    inbound.processed(inbound.send(quoting_ours, to=inbound.address(acme), mail_from=""))
    inbound.processed(inbound.send(fixture("postfix_dsn_hard.eml"), to=inbound.address(acme), mail_from=""))

    ours, stranger = (payload_of(e, mailer_pb2.DeliveryBounced) for e in inbound.mailer.outbox(DELIVERY_BOUNCED.name))
    assert (ours.message_id, ours.rfc822_message_id) == (sent.strip("<>").split("@")[0], sent)
    assert stranger.message_id == ""  # a Message-ID that is none of ours, and no VERP address


def test_soft_bounces_turn_the_address_off_only_at_the_limit_in_a_row(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    for _ in range(2):
        inbound.processed(inbound.send(fixture("postfix_dsn_soft.eml"), to=inbound.address(acme), mail_from=""))
    assert inbound.mailer.outbox(DELIVERY_BOUNCED.name) == []

    inbound.processed(inbound.send(fixture("postfix_dsn_soft.eml"), to=inbound.address(acme), mail_from=""))

    [bounced] = inbound.mailer.outbox(DELIVERY_BOUNCED.name)
    assert payload_of(bounced, mailer_pb2.DeliveryBounced).kind in ("hard", "mailbox_full")


@pytest.mark.parametrize("name", ["outlook_es_out_of_office.eml", "gmail_en_vacation.eml"])
def test_an_out_of_office_never_emits_inbound_received(inbound: Inbound, name: str) -> None:
    acme = inbound.contacts.workspace()

    row = inbound.processed(inbound.send(fixture(name), to=inbound.address(acme)))

    assert (row.status, row.kind) == (RECORDED, "auto_reply")
    assert received_events(inbound) == []


def test_a_malformed_message_is_quarantined_and_counted_and_the_listener_keeps_serving(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    before = _metric('crm_mailer_inbound_quarantined_total{reason="too_many_headers"}')

    row = inbound.processed(inbound.send(b"X-A: b\r\n" * 6000 + b"\r\nbody", to=inbound.address(acme)))
    again = inbound.processed(inbound.send(fixture("broken_bad_base64.eml"), to=inbound.address(acme)))

    assert (row.status, row.quarantine) == (QUARANTINED, "too_many_headers")
    assert _metric('crm_mailer_inbound_quarantined_total{reason="too_many_headers"}') == before + 1
    assert again.status == ROUTED and "bad_base64" in again.defects  # read as far as possible, and routed
    assert len(received_events(inbound)) == 1


def test_a_message_failing_dmarc_of_a_rejecting_domain_is_quarantined_not_a_reply(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    header = (
        f"Authentication-Results: {TRUSTED_RELAY}; spf=fail smtp.mailfrom=example.com; dkim=none;\r\n"
        "  dmarc=fail (p=reject dis=none) header.from=example.com\r\n"
    )
    forged = f"Authentication-Results: {TRUSTED_RELAY}.evil; dmarc=pass header.from=example.com\r\n"

    row = inbound.processed(inbound.send(person_mail(extra=header), to=inbound.address(acme)))
    spoofed = inbound.processed(inbound.send(person_mail(extra=forged + header), to=inbound.address(acme)))

    assert (row.status, row.quarantine) == (QUARANTINED, "dmarc_reject")
    assert (row.auth["trusted_by"], row.auth["results"], row.auth["dmarc_policy"]) == (
        TRUSTED_RELAY,
        {"spf": "fail", "dkim": "none", "dmarc": "fail"},
        "reject",
    )
    assert (row.spf, row.dkim, row.dmarc, row.dmarc_policy) == ("fail", "none", "fail", "reject")
    assert spoofed.status == QUARANTINED  # a header from another authserv-id is not believed
    assert received_events(inbound) == []


def test_mail_from_a_blocked_contact_is_dropped_and_counted(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    ana = inbound.contacts.contact(acme, email="ana@example.com")
    admin = Caller(workspace_id=acme, user_id=new_id(), role="admin")
    contact_service.set_blocked(inbound.contacts.rt.database.unit_of_work(), caller=admin, contact_id=ana, blocked=True)
    before = _metric('crm_mailer_inbound_dropped_total{reason="blocked_contact"}')

    row = inbound.processed(inbound.send(person_mail(), to=inbound.address(acme)))

    assert row.status == DROPPED
    assert _metric('crm_mailer_inbound_dropped_total{reason="blocked_contact"}') == before + 1
    assert received_events(inbound) == []


def _metric(sample: str) -> float:
    text = exposition()[0].decode()
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} not exported")


def test_a_recipient_is_deferred_with_451_while_contacts_cannot_be_asked(sqlite_url: str, tmp_path: Path) -> None:
    from crm_mailer.app import SERVICE

    with running(
        SERVICE,
        sqlite_url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=f"127.0.0.1:{free_port()}",  # nothing listens there
        CRM_GRPC_DEADLINE_SECONDS="1",
        MAILER_INBOUND_DOMAIN=INBOUND_DOMAIN,
    ) as mailer:
        listener = smtp.listen(mailer.rt, host="127.0.0.1", port=free_port())
        try:
            with smtplib.SMTP("127.0.0.1", int(listener.controller.port), timeout=10) as client:
                client.ehlo("relay.test")
                client.mail("sender@example.com")
                code, _text = client.rcpt(f"{new_id()}@{INBOUND_DOMAIN}")
        finally:
            listener.stop()

    assert code == 451  # the sender's server tries again later; nothing is refused for good, nothing accepted
