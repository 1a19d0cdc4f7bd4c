"""Mail arriving together is stored together (the listener's group commit) and processed in batches: each DATA is
answered once its original is committed, every message is processed, and a batch in which one message fails is
done again one by one, each counted once."""

from __future__ import annotations

import threading
from email import message_from_bytes
from pathlib import Path

from sqlalchemy import select

from crm_mailer.inbound import smtp
from crm_mailer.inbound.message import Envelope
from crm_mailer.inbound.models import RECORDED, STORED, InboundMessageRow
from crm_platform.ids import new_id
from tests.factories import mailer as mailer_factories
from tests.support.infra import free_port
from tests.support.stack import running

from .conftest import INBOUND_DOMAIN, Inbound, crlf, fixture
from .test_smtp_inbound import _metric, person_mail, received_events


def test_mail_sent_at_once_over_several_connections_is_all_stored_and_processed(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    received = _metric('crm_mailer_inbound_received_total{channel="smtp"}')
    mails = [crlf(fixture("postfix_dsn_hard.eml")), crlf(fixture("outlook_es_out_of_office.eml")), person_mail()]
    stored: list[str] = []
    errors: list[str] = []

    def sender() -> None:
        with inbound.smtp() as client:
            for n in range(6):
                code, text = _send(client, mails[n % len(mails)], to=inbound.address(acme))
                if code != 250:
                    errors.append(f"{code} {text!r}")
                stored.append(text.decode().rsplit(" ", 1)[-1])

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(stored)) == 24
    with inbound.mailer.rt.database.unit_of_work() as uow:  # acknowledged means committed
        assert set(uow.session.scalars(select(InboundMessageRow.id))) >= set(stored)
    assert {inbound.processed(inbound_id).status for inbound_id in stored} <= {RECORDED, "routed"}
    assert _metric('crm_mailer_inbound_received_total{channel="smtp"}') == received + 24


def _send(client: object, raw: bytes, *, to: str) -> tuple[int, bytes]:
    client.mail("sender@example.com")  # type: ignore[attr-defined]
    client.rcpt(to)  # type: ignore[attr-defined]
    return client.data(raw)  # type: ignore[attr-defined,no-any-return]


def test_a_batch_in_which_one_message_fails_is_done_one_by_one_and_counted_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    from crm_mailer.app import SERVICE

    with running(
        SERVICE,
        sqlite_url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=f"127.0.0.1:{free_port()}",  # nothing listens: a person's mail cannot be routed
        CRM_GRPC_DEADLINE_SECONDS="1",
        MAILER_INBOUND_DOMAIN=INBOUND_DOMAIN,
    ) as mailer:
        pipeline = smtp.pipeline_of(mailer.rt)
        workspace = new_id()
        to = (f"{workspace}@{INBOUND_DOMAIN}",)
        bounce, person = pipeline.receive_many(
            [
                (crlf(fixture("postfix_dsn_hard.eml")), Envelope(mail_from="", rcpt_to=to)),
                (person_mail(), Envelope(mail_from="ana@example.com", rcpt_to=to)),
            ],
            channel="smtp",
            workspace_id=workspace,
        )
        kinds = _metric('crm_mailer_inbound_kinds_total{kind="bounce"}')
        hard = _metric('crm_mailer_inbound_bounces_total{kind="hard"}')
        recorded = _metric('crm_mailer_inbound_processed_total{status="recorded"}')

        statuses = pipeline.process_many([bounce.id, person.id])

        with mailer.rt.database.unit_of_work() as uow:
            rows = {row.id: row for row in uow.session.scalars(select(InboundMessageRow))}
    assert statuses == [RECORDED, "failed"]
    assert rows[bounce.id].status == RECORDED
    assert rows[person.id].status == STORED and rows[person.id].error  # kept, tried again later
    assert _metric('crm_mailer_inbound_kinds_total{kind="bounce"}') == kinds + 1
    assert _metric('crm_mailer_inbound_bounces_total{kind="hard"}') == hard + 1
    assert _metric('crm_mailer_inbound_processed_total{status="recorded"}') == recorded + 1


def test_a_batch_asks_contacts_once_per_sender_and_only_the_first_message_created_the_contact(
    inbound: Inbound,
) -> None:
    acme = inbound.contacts.workspace()
    pipeline = smtp.pipeline_of(inbound.mailer.rt)
    to = (inbound.address(acme),)
    rows = pipeline.receive_many(
        [
            (person_mail(subject="Hola"), Envelope(mail_from="ana@example.com", rcpt_to=to)),
            (crlf(fixture("postfix_dsn_hard.eml")), Envelope(mail_from="", rcpt_to=to)),
            (person_mail(subject="Otra cosa"), Envelope(mail_from="ana@example.com", rcpt_to=to)),
            (  # a second sender: the batch's senders are asked for side by side before processing
                person_mail(subject="Hola").replace(b"Ana Ruiz <ana@", b"Luis Gil <luis@"),
                Envelope(mail_from="luis@example.com", rcpt_to=to),
            ),
        ],
        channel="smtp",
    )

    statuses = pipeline.process_many([row.id for row in rows])

    events = {e.inbound_id: e for e in received_events(inbound)}
    first, second = events[rows[0].id], events[rows[2].id]
    luis = events[rows[3].id]
    assert statuses == ["routed", RECORDED, "routed", "routed"]
    assert first.contact_id == second.contact_id != ""
    assert (first.contact_created, second.contact_created) == (True, False)
    assert (luis.sender, luis.contact_created) == ("luis@example.com", True)
    assert luis.contact_id not in ("", first.contact_id)


def test_a_message_threads_onto_one_routed_earlier_in_its_batch_or_before_by_its_message_id_or_subject(
    inbound: Inbound,
) -> None:
    acme = inbound.contacts.workspace()
    inbound.contacts.contact(acme, email="ana@example.com")
    ticket_id = new_id()
    sent = mailer_factories.sent_mail(inbound.mailer, acme, ticket_id)
    first = person_mail(subject="Re: la impresora", in_reply_to=sent)  # threads onto the ticket by our mail's id
    answering_first = person_mail(subject="Otra cosa", in_reply_to=message_from_bytes(first)["Message-ID"])
    same_subject = person_mail(subject="la impresora")
    to = (inbound.address(acme),)
    rows = smtp.pipeline_of(inbound.mailer.rt).receive_many(
        [(mail, Envelope(mail_from="ana@example.com", rcpt_to=to)) for mail in (first, answering_first, same_subject)],
        channel="smtp",
    )

    pipeline = smtp.pipeline_of(inbound.mailer.rt)
    pipeline.process_many([row.id for row in rows])  # one transaction
    # A later batch finds them stored (the batch's lookups asked at once, before its messages are processed).
    later = pipeline.receive_many(
        [
            (mail, Envelope(mail_from="ana@example.com", rcpt_to=to))
            for mail in (
                person_mail(subject="Y otra", in_reply_to=message_from_bytes(first)["Message-ID"]),
                person_mail(subject="RE: la impresora"),
                person_mail(subject="Nada que ver"),
            )
        ],
        channel="smtp",
    )
    pipeline.process_many([row.id for row in later])

    events = {e.inbound_id: e for e in received_events(inbound)}
    routings = [events[row.id].routing for row in (*rows, *later)]
    assert [(r.target, r.ticket_id, r.rule) for r in routings] == [
        ("ticket", ticket_id, "references"),
        ("ticket", ticket_id, "references"),
        ("ticket", ticket_id, "subject"),
        ("ticket", ticket_id, "references"),
        ("ticket", ticket_id, "subject"),
        ("new_conversation", "", "new"),
    ]
