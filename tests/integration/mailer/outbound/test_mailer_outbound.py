"""Outbound mail against real parts: the contacts service over gRPC (suppression, the author's name), a real SMTP
server on loopback (aiosmtpd: envelope, threading, retries, one connection for many messages) and the API's
status history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from crm.events.v1 import mailer_pb2
from crm.mailer.v1 import mailer_pb2 as mailer_api_pb2
from crm_contacts.contacts import emailstatus, reads
from crm_contacts.contacts import service as contacts_service
from crm_mailer.inbound.tokens import token_in
from crm_mailer.outbound import delivery, rules, tokens
from crm_mailer.outbound.grpc import MailerServicer
from crm_mailer.outbound.models import OutboundMessage
from crm_mailer.outbound.transport import SmtpTransport
from crm_platform import context
from crm_platform.bus import Delivery
from crm_platform.consumer import IdempotentConsumer
from crm_platform.db import utcnow
from crm_platform.events import payload_of, unpack
from crm_platform.ids import new_id
from tests.factories import contacts as contact_factories
from tests.factories import mailer as mailer_factories
from tests.factories import tickets
from tests.factories.platform import admin
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, RunningService, running

GREYLISTED = "busy@example.com"


@dataclass
class Sink:
    """An SMTP server that keeps each message with its envelope, and greylists one address."""

    received: list[tuple[str, list[str], EmailMessage, bytes]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:  # noqa: N802
        if address == GREYLISTED:
            return "451 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw: bytes = envelope.original_content
        mail = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), mail, raw))  # type: ignore[arg-type]
        return "250 accepted"


@pytest.fixture
def sink() -> Iterator[tuple[SmtpTransport, Sink]]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    transport = SmtpTransport("127.0.0.1", controller.port, username=None, password=None, starttls=False)
    try:
        yield transport, handler
    finally:
        transport.close()
        controller.stop()


def deliver(api: RunningService, transport: Any) -> dict[str, int]:
    return delivery.deliver_due(api.rt.database, transport, delivery.Composer.of(api.rt))


def mails(api: RunningService, workspace_id: str) -> list[dict[str, Any]]:
    answer = api.client.get("/v1/mailer/messages", headers=api.auth(workspace_id))
    assert answer.status_code == 200
    return answer.get_json()["items"]


def token_key(api: RunningService) -> tokens.TokenKey:
    return delivery.Composer.of(api.rt).addressing.token_key


def test_a_blocked_contact_gets_no_mail_and_the_skip_is_published(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, server = sink
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    contacts_service.set_blocked(
        contacts_peer_service.rt.database.unit_of_work(), caller=admin(acme), contact_id=ana, blocked=True
    )

    mailer_api.consume(tickets.public_comment_added(acme, ana))
    deliver(mailer_api, transport)

    assert server.received == []
    [record] = mails(mailer_api, acme)
    assert (record["status"], record["last_error"], record["attempts"]) == ("suppressed", "blocked", 0)
    [event] = mailer_api.outbox()
    assert event.type == "mailer.message.suppressed"
    suppressed = payload_of(event, mailer_pb2.MessageSuppressed)
    assert (suppressed.message_id, suppressed.reason, suppressed.contact_id) == (record["id"], "blocked", ana)


def test_an_inactive_address_gets_no_mail(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, server = sink
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, email="ana@example.com")
    emailstatus.deactivate_email(
        contacts_peer_service.rt.database.unit_of_work(),
        caller=admin(acme),
        contact_id=ana,
        address="ana@example.com",
        reason="unsubscribed",
    )

    mailer_api.consume(tickets.public_comment_added(acme, ana))
    deliver(mailer_api, transport)

    assert server.received == []
    [record] = mails(mailer_api, acme)
    assert (record["status"], record["last_error"]) == ("suppressed", "inactive:unsubscribed")
    assert [e.type for e in mailer_api.outbox()] == ["mailer.message.suppressed"]


def test_a_comment_goes_out_from_its_author_with_reply_and_bounce_tokens(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, server = sink
    acme = contacts_peer_service.workspace()
    luis = contact_factories.member(contacts_peer_service.rt.database, acme, "Luis Gil")
    ticket_id = new_id()
    mailer_api.consume(
        tickets.public_comment_added(acme, contacts_peer_service.contact(acme), ticket_id=ticket_id, author_id=luis)
    )

    assert deliver(mailer_api, transport) == {"sent": 1, "deferred": 0, "failed": 0}

    [(mail_from, rcpt_tos, mail, _raw)] = server.received
    [record] = mails(mailer_api, acme)
    key = token_key(mailer_api)
    assert str(mail["From"]) == "Luis Gil <support@acme.test>"
    assert rcpt_tos == ["ana@example.com"]
    assert tokens.verify(key, tokens.BOUNCE, token_in(mail_from, "bounce") or "") == tokens.Claims(
        tokens.BOUNCE, acme, record["id"]
    )
    assert tokens.verify(key, tokens.REPLY, token_in(str(mail["Reply-To"]), "reply") or "") == tokens.Claims(
        tokens.REPLY, acme, ticket_id
    )
    assert "Auto-Submitted" not in mail and "List-Unsubscribe" not in mail  # a reply to a person
    assert mail.get_content_type() == "multipart/alternative"


def test_a_follow_up_on_the_same_ticket_threads_under_the_first_mail(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, server = sink
    acme = contacts_peer_service.workspace()
    ana, ticket_id = contacts_peer_service.contact(acme), new_id()

    for text in ("First answer.", "Second answer.", "Third answer."):
        mailer_api.consume(tickets.public_comment_added(acme, ana, ticket_id=ticket_id, body=text))
    deliver(mailer_api, transport)

    first, second, third = (mail for _f, _r, mail, _raw in server.received)
    assert "In-Reply-To" not in first
    assert second["In-Reply-To"] == first["Message-ID"] and second["References"] == first["Message-ID"]
    assert third["In-Reply-To"] == second["Message-ID"]
    assert str(third["References"]).split() == [first["Message-ID"], second["Message-ID"]]
    assert {m["Message-ID"] for m in (first, second, third)} == {
        m["rfc822_message_id"] for m in mails(mailer_api, acme)
    }


def test_one_connection_carries_many_messages(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, server = sink
    acme = contacts_peer_service.workspace()
    for n in range(5):
        mailer_api.consume(
            tickets.public_comment_added(acme, contacts_peer_service.contact(acme, email=f"c{n}@example.com"))
        )

    assert deliver(mailer_api, transport) == {"sent": 5, "deferred": 0, "failed": 0}
    assert len(server.received) == 5
    assert transport.connections == 1


def test_a_greylisted_mail_is_retried_with_back_off_and_each_attempt_is_in_its_history(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, _server = sink
    acme = mailer_factories.queued_comment_mail(mailer_api, contacts_peer_service, email=GREYLISTED).workspace_id

    before = utcnow()
    assert deliver(mailer_api, transport)["deferred"] == 1
    assert deliver(mailer_api, transport) == {"sent": 0, "deferred": 0, "failed": 0}  # not due yet
    make_due(mailer_api)
    assert deliver(mailer_api, transport)["deferred"] == 1

    [record] = mails(mailer_api, acme)
    detail = mailer_api.client.get(f"/v1/mailer/messages/{record['id']}", headers=mailer_api.auth(acme)).get_json()
    assert (detail["status"], detail["attempts"]) == ("queued", 2)
    assert [a["outcome"] for a in detail["history"]] == ["deferred", "deferred"]
    assert all("451" in a["detail"] for a in detail["history"])
    with mailer_api.rt.database.unit_of_work() as uow:
        row = uow.session.get(OutboundMessage, record["id"])
        assert row is not None and row.next_attempt_at >= before + timedelta(seconds=60)  # the second wait doubled


def test_a_mail_stuck_beyond_its_retry_window_fails_with_the_reason(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, server = sink
    acme = mailer_factories.queued_comment_mail(mailer_api, contacts_peer_service).workspace_id
    with mailer_api.rt.database.engine.begin() as connection:
        connection.execute(
            update(OutboundMessage).values(created_at=utcnow() - rules.RETRY_WINDOW - timedelta(minutes=1))
        )

    assert deliver(mailer_api, transport) == {"sent": 0, "deferred": 0, "failed": 1}

    assert server.received == []
    [record] = mails(mailer_api, acme)
    assert record["status"] == "failed" and "retry window" in record["last_error"]


def make_due(api: RunningService) -> None:
    with api.rt.database.engine.begin() as connection:
        connection.execute(update(OutboundMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def send_email(api: RunningService, workspace_id: str, **fields: Any) -> mailer_api_pb2.Delivery:
    caller = context.Caller(workspace_id=workspace_id, user_id="system:tickets", role="system")
    with context.bound(caller=caller):
        return MailerServicer(api.rt).SendEmail(mailer_api_pb2.SendEmailRequest(**fields), None)


def test_send_email_queues_once_per_request_id_and_automatic_mail_can_be_unsubscribed(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, server = sink
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    request = {
        "request_id": new_id(),
        "contact_id": ana,
        "subject": "Your weekly summary",
        "text_body": "Three tickets were solved.",
        "html_body": "<p>Three <b>tickets</b> were solved.<script>x()</script></p>",
        "automatic": True,
    }

    first = send_email(mailer_api, acme, **request)
    again = send_email(mailer_api, acme, **request)
    deliver(mailer_api, transport)

    assert (first.id, first.status) == (again.id, "queued")
    [(_from, _to, mail, _raw)] = server.received
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" in mail
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "<b>tickets</b>" in html and "script" not in html


def test_sent_mail_says_whether_it_was_a_conversations_message_or_a_direct_mail(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, _server = sink
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    conversation_id = new_id()
    message = send_email(
        mailer_api,
        acme,
        request_id=new_id(),
        contact_id=ana,
        subject="Re: your visit",
        text_body="See you on Monday.",
        thread_id=conversation_id,
        thread_kind="conversation",
    )
    direct = send_email(mailer_api, acme, request_id=new_id(), contact_id=ana, subject="Summary", text_body="Hi.")
    deliver(mailer_api, transport)

    sent = {
        payload.message_id: payload.kind
        for payload in (payload_of(e, mailer_pb2.MessageSent) for e in mailer_api.outbox("mailer.message.sent"))
    }
    assert (sent[message.id], sent[direct.id]) == ("conversation_message", "direct")


def consume_in_contacts(peer: ContactsPeer, body: bytes) -> None:
    envelope = unpack(body)
    IdempotentConsumer("contacts", peer.rt.database, peer.rt.spec.subscriptions, peer.rt)(
        Delivery(body=body, event_type=envelope.type, attempt=1)
    )


def test_one_click_unsubscribe_needs_no_login_is_idempotent_and_turns_the_address_off_in_contacts(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, server = sink
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, email="ana@example.com")
    send_email(
        mailer_api, acme, request_id=new_id(), contact_id=ana, subject="Summary", text_body="Hi.", automatic=True
    )
    deliver(mailer_api, transport)
    [(_from, _to, mail, _raw)] = server.received
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.findall(r"<(https://[^>]+)>", str(mail["List-Unsubscribe"]))[0]
    path = link.removeprefix("https://mail.acme.test")
    one_click = {"data": "List-Unsubscribe=One-Click", "content_type": "application/x-www-form-urlencoded"}

    first = mailer_api.client.post(path, **one_click)  # no Authorization header, as a mail client posts it
    again = mailer_api.client.post(path, **one_click)

    assert (first.status_code, again.status_code) == (200, 200), first.get_json()
    [event] = [e for e in mailer_api.outbox() if e.type == "mailer.recipient.unsubscribed"]
    assert payload_of(event, mailer_pb2.RecipientUnsubscribed) == mailer_pb2.RecipientUnsubscribed(
        recipient="ana@example.com", contact_id=ana
    )
    consume_in_contacts(contacts_peer_service, event.SerializeToString())
    card = reads.get_summary(contacts_peer_service.rt.database, workspace_id=acme, contact_id=ana)
    [address] = card.emails
    assert (address.address, address.status, address.inactive_reason) == ("ana@example.com", "inactive", "unsubscribed")


def test_a_forged_or_foreign_unsubscribe_token_is_refused_and_other_routes_still_need_a_login(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    key = token_key(mailer_api)
    reply_token = tokens.sign(key, tokens.REPLY, workspace_id=acme, subject_id=new_id())
    unknown_message = tokens.sign(key, tokens.UNSUBSCRIBE, workspace_id=acme, subject_id=new_id())
    forged = tokens.sign(tokens.TokenKey(b"f" * 40), tokens.UNSUBSCRIBE, workspace_id=acme, subject_id=new_id())

    for token in (reply_token, unknown_message, forged, "x" * 52, "x" * 65):
        answer = mailer_api.client.post(f"/v1/mailer/unsubscribe/{token}")
        assert 400 <= answer.status_code < 500, (token, answer.status_code)
        assert answer.mimetype == "application/problem+json"
    assert mailer_api.outbox() == []
    assert mailer_api.client.get("/v1/mailer/messages").status_code == 401


def test_the_public_unsubscribe_route_is_still_rate_limited_per_client_address(
    database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer
) -> None:
    from crm_mailer.app import SERVICE

    with running(
        SERVICE,
        database_url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target,
        CRM_RATE_LIMIT_PER_TOKEN="3",
    ) as mailer:
        answers = [mailer.client.post(f"/v1/mailer/unsubscribe/{'x' * 52}").status_code for _ in range(5)]

    assert answers[:3] == [404, 404, 404]
    assert 429 in answers[3:]


def grpc_calls(peer: ContactsPeer) -> dict[str, float]:
    """How many gRPC requests the contacts peer has answered, by method (its own request counter)."""
    found: dict[str, float] = {}
    for metric in peer.rt.metrics.grpc_requests.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                method = sample.labels["method"].rsplit("/", 1)[-1]
                found[method] = found.get(method, 0) + sample.value
    return found


def test_a_batch_of_comments_asks_contacts_once_and_queues_what_one_at_a_time_would(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, sink: tuple[SmtpTransport, Sink]
) -> None:
    transport, server = sink
    acme = contacts_peer_service.workspace()
    luis = contact_factories.member(contacts_peer_service.rt.database, acme, "Luis Gil")
    ana, bea = contacts_peer_service.contact(acme), contacts_peer_service.contact(acme, email="bea@example.com")
    blocked = contacts_peer_service.contact(acme, email="carl@example.com")
    contacts_service.set_blocked(
        contacts_peer_service.rt.database.unit_of_work(), caller=admin(acme), contact_id=blocked, blocked=True
    )
    ticket = new_id()
    bodies = [
        tickets.public_comment_added(acme, ana, ticket_id=ticket, body="First.", author_id=luis),
        tickets.public_comment_added(acme, ana, ticket_id=ticket, body="Second.", author_id=luis),
        tickets.public_comment_added(acme, bea, body="Hello Bea."),
        tickets.public_comment_added(acme, blocked, body="Never sent."),
        tickets.public_comment_added(acme, new_id(), body="Nobody."),  # not a contact of the workspace
    ]
    before = grpc_calls(contacts_peer_service)
    consumer = IdempotentConsumer("mailer", mailer_api.rt.database, mailer_api.rt.spec.subscriptions, mailer_api.rt)

    consumer.handle_batch([Delivery(body=b, event_type="tickets.comment.public_added", attempt=1) for b in bodies])

    asked = {m: n - before.get(m, 0) for m, n in grpc_calls(contacts_peer_service).items() if n != before.get(m, 0)}
    assert asked == {"BatchGetContacts": 1, "GetMember": 2}  # Luis once, "agent-1" (no member) once
    statuses = sorted((m["recipient"] or "", m["status"]) for m in mails(mailer_api, acme))
    assert statuses == [
        ("", "skipped"),
        ("ana@example.com", "queued"),
        ("ana@example.com", "queued"),
        ("bea@example.com", "queued"),
        ("carl@example.com", "suppressed"),
    ]
    assert deliver(mailer_api, transport)["sent"] == 3
    first, second = (mail for _f, rcpt, mail, _raw in server.received if rcpt == ["ana@example.com"])
    assert second["In-Reply-To"] == first["Message-ID"]  # threaded inside one batch too
    assert "Luis Gil" in str(first["From"])
