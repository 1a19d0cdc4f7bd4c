"""A member's message carries files: uploaded to the conversation (streamed to the store, size-limited,
executables refused by content), named in the message, mailed by reference (the real mailer reads them from
conversations' Attachments service when it builds the mail, and the SMTP sink on loopback receives them), and
downloaded with safe headers by whoever may see the conversation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_mailer.outbound.models import OutboundMessage
from crm_mailer.outbound.transport import SmtpTransport
from crm_platform.grpc_server import GrpcServer
from tests.factories import conversations
from tests.integration.conversations.mailing import Mailer, Sink, conversations_beside, deliver
from tests.support.stack import ContactsPeer, RunningService, problem_fields

LIMIT = 4096  # CONVERSATIONS_ATTACHMENT_MAX_BYTES in these tests
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 100


@pytest.fixture
def inbox(
    database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer, mailer_peer: Mailer
) -> Iterator[RunningService]:
    from crm_conversations.app import SERVICE

    settings = {"CONVERSATIONS_ATTACHMENT_MAX_BYTES": str(LIMIT)}
    with conversations_beside(database_url, tmp_path, contacts_peer_service, mailer_peer, **settings) as service:
        # Its gRPC server (Attachments among its services), where the mailer reads the files from.
        server = GrpcServer(
            [(b, service.rt.metrics) for b in SERVICE.grpc_bindings(service.rt)],
            address="127.0.0.1:0",
            settings=service.rt.settings,
        )
        server.start()
        settings = mailer_peer.rt.settings
        object.__setattr__(
            settings, "grpc_targets", {**settings.grpc_targets, "conversations": f"127.0.0.1:{server.port}"}
        )
        try:
            yield service
        finally:
            server.stop(grace=0)


def upload(inbox: RunningService, headers: dict[str, str], conversation_id: str, data: bytes, name: str):  # type: ignore[no-untyped-def]
    return inbox.client.post(
        f"/v1/conversations/{conversation_id}/attachments",
        data={"file": (io.BytesIO(data), name, "application/pdf")},
        headers=headers,
        content_type="multipart/form-data",
    )


@pytest.fixture
def scene(inbox: RunningService, contacts_peer_service: ContactsPeer) -> tuple[str, dict[str, str], str]:
    acme = contacts_peer_service.workspace()
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    ana = contacts_peer_service.contact(acme, email="ana@example.com")
    headers = inbox.auth(acme, user_id=luis, role="agent")
    conversation = conversations.start(inbox, headers, ana, "Invoice 42").get_json()
    return acme, headers, conversation["id"]


def test_a_members_file_goes_out_with_the_email_and_downloads_with_safe_headers(
    inbox: RunningService,
    mailer_peer: Mailer,
    smtp: tuple[SmtpTransport, Sink],
    scene: tuple[str, dict[str, str], str],
) -> None:
    transport, sink = smtp
    _acme, headers, conversation_id = scene
    uploaded = upload(inbox, headers, conversation_id, PDF, "invoice 42.pdf")
    assert uploaded.status_code == 201, uploaded.get_json()
    file_id = uploaded.get_json()["id"]

    sent = inbox.client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"body": "Here is the invoice.", "attachment_ids": [file_id]},
        headers=headers,
    )
    assert sent.status_code == 201, sent.get_json()
    assert [(f["id"], f["filename"], f["size"]) for f in sent.get_json()["attachments"]] == [
        (file_id, "invoice 42.pdf", len(PDF))
    ]
    plain = inbox.client.post(
        f"/v1/conversations/{conversation_id}/messages", json={"body": "Thanks!"}, headers=headers
    )
    listed = inbox.client.get(f"/v1/conversations/{conversation_id}/messages", headers=headers).get_json()["items"]
    assert [[f["filename"] for f in m["attachments"]] for m in listed] == [["invoice 42.pdf"], []]  # as the agent sees
    assert [m["id"] for m in listed] == [sent.get_json()["id"], plain.get_json()["id"]]
    with mailer_peer.rt.database.unit_of_work() as uow:
        [queued, _thanks] = uow.session.scalars(select(OutboundMessage).order_by(OutboundMessage.created_at)).all()
        assert [(a["service"], a["attachment_id"]) for a in queued.attachments or []] == [("conversations", file_id)]

    assert deliver(mailer_peer, transport) == 2
    mail = next(m for m in sink.received if m.is_multipart() and list(m.iter_attachments()))
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "invoice 42.pdf"
    assert part.get_content() == PDF

    download = inbox.client.get(f"/v1/conversations/{conversation_id}/attachments/{file_id}", headers=headers)
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_file_is_the_uploaders_for_that_conversation_only(
    inbox: RunningService, contacts_peer_service: ContactsPeer, scene: tuple[str, dict[str, str], str]
) -> None:
    acme, headers, conversation_id = scene
    file_id = upload(inbox, headers, conversation_id, PDF, "invoice.pdf").get_json()["id"]
    eva = conversations.member(contacts_peer_service, acme, "Eva Ruiz")
    other = inbox.auth(acme, user_id=eva, role="agent")
    taken = inbox.client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"body": "mine", "attachment_ids": [file_id]},
        headers=other,
    )
    assert taken.status_code == 422
    assert problem_fields(taken.get_json()) == {"attachment_ids": "unknown"}
    # Not sent yet: not downloadable either.
    draft = inbox.client.get(f"/v1/conversations/{conversation_id}/attachments/{file_id}", headers=headers)
    assert draft.status_code == 404
    elsewhere = inbox.auth(contacts_peer_service.workspace(name="Globex"), role="admin")
    assert upload(inbox, elsewhere, conversation_id, PDF, "invoice.pdf").status_code == 404


def test_an_executable_is_refused_by_its_content_whatever_its_name(
    inbox: RunningService, scene: tuple[str, dict[str, str], str]
) -> None:
    _acme, headers, conversation_id = scene
    refused = upload(inbox, headers, conversation_id, WINDOWS_PROGRAM, "invoice.pdf")
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    assert problem_fields(refused.get_json()) == {"file": "executable"}


def test_a_file_over_the_limit_is_refused_413(inbox: RunningService, scene: tuple[str, dict[str, str], str]) -> None:
    _acme, headers, conversation_id = scene
    refused = upload(inbox, headers, conversation_id, b"%PDF-1.4\n" + b"x" * LIMIT, "big.pdf")
    assert refused.status_code == 413
    assert refused.mimetype == "application/problem+json"
    fits = upload(inbox, headers, conversation_id, b"%PDF-1.4\n" + b"x" * (LIMIT - 9), "fits.pdf")
    assert fits.status_code == 201, fits.get_json()
