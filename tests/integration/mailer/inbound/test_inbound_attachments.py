"""Inbound mail's attachments: kept in the mailer's store, announced by reference in mailer.inbound.received
(never their bytes), downloadable with safe headers by whoever may read the message, and read over gRPC by the
services the mail is routed to."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from crm.events.v1 import mailer_pb2
from crm_events.mailer import INBOUND_RECEIVED
from crm_mailer.app import SERVICE
from crm_mailer.inbound.models import InboundMessageRow
from crm_platform import context
from crm_platform.attachments.client import AttachmentFetcher
from crm_platform.attachments.rules import AttachmentUnavailable, Limits
from crm_platform.auth import mint_for
from crm_platform.context import Caller
from crm_platform.events import payload_of
from crm_platform.grpc_client import GrpcClients
from crm_platform.grpc_server import GrpcServer
from crm_platform.settings import load
from tests.support.stack import ContactsPeer, RunningService, contacts_peer, running, service_env
from tests.support.team import Team, acme_team

from .conftest import INBOUND_DOMAIN

PDF = b"%PDF-1.7\n" + os.urandom(150_000)
PAGE = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


def mail_with_files(workspace_id: str, *files: tuple[str, str, bytes]) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Pedro Gil <pedro@example.com>"
    mail["To"] = f"{workspace_id}@{INBOUND_DOMAIN}"
    mail["Subject"] = "Facturas de noviembre"
    mail["Message-ID"] = f"<{os.urandom(6).hex()}@example.com>"
    mail.set_content("Hola, os mando las facturas.\n\nPedro")
    for filename, content_type, data in files:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype, subtype, filename=filename)
    return mail.as_bytes()


class Mailer:
    def __init__(self, api: RunningService, peer: ContactsPeer) -> None:
        self.api, self.peer = api, peer

    def post(self, workspace_id: str, raw: bytes) -> str:
        posted = self.api.client.post(
            "/v1/mailer/inbound", data=raw, content_type="message/rfc822", headers=self.api.auth(workspace_id)
        )
        assert posted.status_code == 202, posted.get_json()
        assert posted.get_json()["status"] == "routed"
        return str(posted.get_json()["id"])

    def announced(self) -> mailer_pb2.InboundReceived:
        [event] = self.api.outbox(INBOUND_RECEIVED.name)
        return payload_of(event, mailer_pb2.InboundReceived)


def mailer_with(tmp_path: Path, database_url: str, **env: str) -> Iterator[Mailer]:
    with (
        contacts_peer(tmp_path) as peer,
        running(
            SERVICE,
            database_url,
            tmp_path,
            CRM_CONTACTS_GRPC_TARGET=peer.target,
            MAILER_INBOUND_DOMAIN=INBOUND_DOMAIN,
            MAILER_INBOUND_MAX_BYTES="2000000",
            **env,
        ) as api,
    ):
        yield Mailer(api, peer)


@pytest.fixture
def mailer(database_url: str, tmp_path: Path) -> Iterator[Mailer]:
    yield from mailer_with(tmp_path, database_url)


@pytest.fixture
def team(mailer: Mailer) -> Team:
    return acme_team(mailer.peer)


def test_a_persons_files_are_kept_and_announced_by_reference_never_by_content(mailer: Mailer, team: Team) -> None:
    inbound_id = mailer.post(
        team.workspace, mail_with_files(team.workspace, ("factura-11.pdf", "application/pdf", PDF))
    )

    event = mailer.announced()
    [ref] = event.attachments
    download = mailer.api.client.get(
        f"/v1/mailer/inbound/{inbound_id}/attachments/{ref.attachment_id}", headers=team.headers(mailer.api, team.ana)
    )

    assert (ref.service, ref.filename, ref.content_type) == ("mailer", "factura-11.pdf", "application/pdf")
    assert (ref.size, ref.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())
    assert event.ByteSize() < 2000  # the reference, not the 150 kB
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="factura-11.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_an_html_file_is_downloaded_as_octet_stream_never_rendered(mailer: Mailer, team: Team) -> None:
    inbound_id = mailer.post(team.workspace, mail_with_files(team.workspace, ("página.html", "text/html", PAGE)))
    [ref] = mailer.announced().attachments

    download = mailer.api.client.get(
        f"/v1/mailer/inbound/{inbound_id}/attachments/{ref.attachment_id}", headers=mailer.api.auth(team.workspace)
    )

    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"pagina.html\"; filename*=UTF-8''p%C3%A1gina.html"
    )
    assert download.data == PAGE


def test_another_workspace_another_message_or_a_hidden_contact_get_404(mailer: Mailer, team: Team) -> None:
    inbound_id = mailer.post(team.workspace, mail_with_files(team.workspace, ("a.pdf", "application/pdf", PDF)))
    [ref] = mailer.announced().attachments
    other = mailer.peer.workspace(name="Other")
    other_message = mailer.post(other, mail_with_files(other, ("b.pdf", "application/pdf", b"%PDF-1.7 b")))
    path = f"/v1/mailer/inbound/{inbound_id}/attachments/{ref.attachment_id}"
    team.agents_see_all(False)  # the new contact the mail created is nobody's: agents no longer see it
    team.deliver_events(mailer.api)

    assert mailer.api.client.get(path).status_code == 401
    assert mailer.api.client.get(path, headers=mailer.api.auth(other)).status_code == 404
    wrong_message = f"/v1/mailer/inbound/{other_message}/attachments/{ref.attachment_id}"
    assert mailer.api.client.get(wrong_message, headers=mailer.api.auth(other)).status_code == 404
    hidden = mailer.api.client.get(path, headers=team.headers(mailer.api, team.ana))
    assert (hidden.status_code, hidden.mimetype) == (404, "application/problem+json")
    assert mailer.api.client.get(path, headers=team.headers(mailer.api, team.admin)).status_code == 200


def test_the_services_the_mail_is_routed_to_read_its_files_over_grpc(
    mailer: Mailer, team: Team, tmp_path: Path
) -> None:
    mailer.post(team.workspace, mail_with_files(team.workspace, ("a.pdf", "application/pdf", PDF)))
    [ref] = mailer.announced().attachments
    server = GrpcServer(
        [(b, mailer.api.rt.metrics) for b in SERVICE.grpc_bindings(mailer.api.rt)],
        address="127.0.0.1:0",
        settings=mailer.api.rt.settings,
    )
    server.start()
    try:
        env = service_env("tickets", f"sqlite:///{tmp_path}/tickets.db", tmp_path)
        fetcher = AttachmentFetcher(
            GrpcClients(load("tickets", {**env, "CRM_MAILER_GRPC_TARGET": f"127.0.0.1:{server.port}"}))
        )
        with context.bound(caller=Caller(workspace_id=team.workspace, user_id="system:tickets", role="system")):
            with fetcher.fetch(ref, limits=Limits(max_bytes=1024 * 1024)) as spool:
                fetched = spool.read()
        with context.bound(caller=Caller(workspace_id=team.peer.workspace(name="Else"), user_id="x", role="system")):
            with pytest.raises(AttachmentUnavailable) as other_workspace:
                fetcher.fetch(ref, limits=Limits(max_bytes=1024 * 1024))
        team.agents_see_all(False)  # the contact the mail created is nobody's: hidden from agents
        team.deliver_events(mailer.api)
        token = mint_for(mailer.api.rt.settings, workspace_id=team.workspace, user_id=team.ana, role="agent")
        with context.bound(caller=Caller(workspace_id=team.workspace, user_id=team.ana, role="agent", token=token)):
            with pytest.raises(AttachmentUnavailable) as hidden:  # an agent's request, forwarded: her visibility
                fetcher.fetch(ref, limits=Limits(max_bytes=1024 * 1024))
    finally:
        server.stop(grace=0)

    assert fetched == PDF
    assert other_workspace.value.extra["reason"] == "not_found"
    assert hidden.value.extra["reason"] == "not_found"


@pytest.fixture
def small_files_mailer(database_url: str, tmp_path: Path) -> Iterator[Mailer]:
    folder = tmp_path / "attachments"
    folder.mkdir()
    yield from mailer_with(
        tmp_path, database_url, MAILER_ATTACHMENTS_MAX_BYTES="100000", MAILER_ATTACHMENTS_DIR=str(folder)
    )


def test_a_file_over_the_limit_is_left_out_and_the_message_still_routed(
    small_files_mailer: Mailer, tmp_path: Path
) -> None:
    mailer = small_files_mailer
    acme = mailer.peer.workspace()
    small = b"%PDF-1.7 small"

    inbound_id = mailer.post(
        acme,
        mail_with_files(acme, ("big.pdf", "application/pdf", PDF), ("small.pdf", "application/pdf", small)),
    )
    [ref] = mailer.announced().attachments
    download = mailer.api.client.get(
        f"/v1/mailer/inbound/{inbound_id}/attachments/{ref.attachment_id}", headers=mailer.api.auth(acme)
    )

    assert ref.filename == "small.pdf"
    assert download.data == small
    kept = [p for p in (tmp_path / "attachments").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in kept] == [small]  # on disk, under MAILER_ATTACHMENTS_DIR
    raw = mailer.api.client.get(f"/v1/mailer/inbound/{inbound_id}/raw", headers=mailer.api.auth(acme))
    assert raw.status_code == 200  # the original keeps everything
    with mailer.api.rt.database.unit_of_work() as uow:
        row = uow.session.get(InboundMessageRow, inbound_id)
        assert row is not None and "attachment_too_large" in row.defects
