"""An address turned off between queueing and sending is not mailed: the delivery loop asks contacts again for
each claimed batch (one BatchGetContacts per workspace) and suppresses what is no longer sendable, as queueing
does. Real parts: the contacts service over gRPC, a real SMTP server on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from crm.events.v1 import mailer_pb2
from crm_contacts.contacts import emailstatus
from crm_contacts.contacts import service as contacts_service
from crm_events.mailer import MESSAGE_SENT, MESSAGE_SUPPRESSED
from crm_mailer.outbound import delivery, loops, service
from crm_mailer.outbound.models import QUEUED, SENT, SKIPPED, SUPPRESSED, OutboundMessage
from crm_mailer.outbound.transport import RecordingTransport
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.db import utcnow
from crm_platform.events import payload_of
from crm_platform.grpc_client import GrpcClients
from crm_platform.settings import load
from tests.factories import mailer as mailer_factories
from tests.factories.platform import admin
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, RunningService, service_env


def deliver(api: RunningService, transport: Any, recheck: delivery.Recheck | None = None) -> dict[str, int]:
    """As the worker loop delivers (``loops.recheck_of``), unless a test gives another recheck."""
    recheck = recheck or loops.recheck_of(api.rt)
    return delivery.deliver_due(api.rt.database, transport, delivery.Composer.of(api.rt), recheck=recheck)


def rows(api: RunningService) -> dict[str, OutboundMessage]:
    with api.rt.database.unit_of_work() as uow:
        found = list(uow.session.scalars(select(OutboundMessage)))
        for row in found:
            uow.session.expunge(row)
    return {row.contact_id or "": row for row in found}


def test_a_contact_blocked_after_queueing_is_not_mailed_and_the_skip_is_published(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    peer = contacts_peer_service
    acme, ana = mailer_factories.queued_comment_mail(mailer_api, peer)
    luis = mailer_factories.queued_comment_mail(
        mailer_api, peer, email="luis@example.com", workspace_id=acme
    ).contact_id
    contacts_service.set_blocked(peer.rt.database.unit_of_work(), caller=admin(acme), contact_id=ana, blocked=True)
    transport = RecordingTransport()

    outcomes = deliver(mailer_api, transport)

    assert outcomes == {"sent": 1, "deferred": 0, "failed": 0}
    assert [mail["To"] for mail in transport.sent] == ["luis@example.com"]
    found = rows(mailer_api)
    assert (found[ana].status, found[ana].last_error, found[ana].attempts) == (SUPPRESSED, "blocked", 0)
    assert found[luis].status == SENT
    [event] = mailer_api.outbox(MESSAGE_SUPPRESSED.name)
    suppressed = payload_of(event, mailer_pb2.MessageSuppressed)
    assert (suppressed.message_id, suppressed.reason, suppressed.contact_id) == (found[ana].id, "blocked", ana)
    assert len(mailer_api.outbox(MESSAGE_SENT.name)) == 1


def test_an_address_turned_inactive_after_queueing_is_suppressed_with_its_reason(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    peer = contacts_peer_service
    acme, ana = mailer_factories.queued_comment_mail(mailer_api, peer)
    emailstatus.deactivate_email(
        peer.rt.database.unit_of_work(), caller=admin(acme), contact_id=ana, address="ana@example.com", reason="invalid"
    )
    transport = RecordingTransport()

    deliver(mailer_api, transport)

    assert transport.sent == []
    assert (rows(mailer_api)[ana].status, rows(mailer_api)[ana].last_error) == (SUPPRESSED, "inactive:invalid")
    [event] = mailer_api.outbox(MESSAGE_SUPPRESSED.name)
    assert payload_of(event, mailer_pb2.MessageSuppressed).reason == "inactive:invalid"


def test_a_contact_deleted_after_queueing_is_skipped(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    peer = contacts_peer_service
    acme, ana = mailer_factories.queued_comment_mail(mailer_api, peer)
    contacts_service.delete(peer.rt.database.unit_of_work(), caller=admin(acme), contact_id=ana)
    transport = RecordingTransport()

    deliver(mailer_api, transport)

    assert transport.sent == []
    assert rows(mailer_api)[ana].status == SKIPPED
    assert mailer_api.outbox(MESSAGE_SUPPRESSED.name) == []


def test_while_contacts_cannot_be_asked_the_batch_waits_and_is_never_sent_unchecked(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, tmp_path: Path
) -> None:
    peer = contacts_peer_service
    _, ana = mailer_factories.queued_comment_mail(mailer_api, peer)
    nowhere = f"127.0.0.1:{free_port()}"
    settings = load("mailer", service_env("mailer", "sqlite://", tmp_path, CRM_CONTACTS_GRPC_TARGET=nowhere))
    unreachable = GrpcContactDirectory(GrpcClients(settings))
    transport = RecordingTransport()

    outcomes = deliver(
        mailer_api, transport, lambda uow, batch: service.still_sendable(uow, unreachable, batch, now=utcnow())
    )

    assert outcomes == {"sent": 0, "deferred": 0, "failed": 0} and transport.sent == []
    row = rows(mailer_api)[ana]
    assert (row.status, row.attempts) == (QUEUED, 0)
    assert row.next_attempt_at > utcnow()  # put off by service.RECHECK_LATER, not claimed again at once
    assert deliver(mailer_api, transport) == {"sent": 0, "deferred": 0, "failed": 0}  # not due yet
