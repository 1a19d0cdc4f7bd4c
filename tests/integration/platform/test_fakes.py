"""The in-memory fakes that unit tests use behave like the real things: the same assertions run against
FakeContactDirectory and the contacts service over gRPC, and against RecordingTransport, a Maildir and a
real SMTP server on loopback (aiosmtpd) that refuses one address for good and greylists another."""

from __future__ import annotations

import contextlib
import mailbox
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from crm_mailer.outbound import rules
from crm_mailer.outbound.transport import (
    MaildirTransport,
    PermanentFailure,
    RecordingTransport,
    SmtpTransport,
    TemporaryFailure,
    Transport,
)
from crm_platform import context
from crm_platform.auth import mint_for
from crm_platform.clients.contacts import (
    ContactDirectory,
    FakeContactDirectory,
    GrpcContactDirectory,
    require_visible_contact,
)
from crm_platform.context import Caller
from crm_platform.errors import InvalidInput, NotFound
from crm_platform.grpc_client import GrpcClients
from crm_platform.ids import new_id
from crm_platform.settings import load
from tests.factories.platform import caller
from tests.integration.mailer.outbound.test_mailer_delivery import GREYLISTED, REFUSED, RecordingSmtpHandler
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, service_env
from tests.support.team import acme_team


# The contact directory ----------------------------------------------------------------------------------
@dataclass
class Directory:
    """A directory holding Acme (agents see only their own contacts) with Ana's, Luis's and a deleted
    contact, and Globex with one contact; ``as_`` binds a caller of Acme as the HTTP edge would."""

    contacts: ContactDirectory
    workspace: str
    ana: str
    anas_contact: str
    luis_contact: str
    deleted_contact: str
    globex_contact: str
    token_for: Callable[[Caller], str | None]

    @contextlib.contextmanager
    def as_(self, user_id: str, role: str) -> Iterator[None]:
        who = caller(self.workspace, user_id=user_id, role=role)
        who = Caller(who.workspace_id, who.user_id, who.role, token=self.token_for(who))
        with context.bound(caller=who):
            yield


def fake_directory() -> Directory:
    fake = FakeContactDirectory()
    acme, ana, luis = new_id(), new_id(), new_id()
    fake.restrict_agents(acme)
    deleted = fake.add(acme, owner_id=ana).id
    fake.delete(deleted)
    return Directory(
        contacts=fake,
        workspace=acme,
        ana=ana,
        anas_contact=fake.add(acme, name="Ana's customer", email=None, owner_id=ana).id,
        luis_contact=fake.add(acme, name="Luis's customer", email=None, owner_id=luis).id,
        deleted_contact=deleted,
        globex_contact=fake.add(new_id()).id,
        token_for=lambda _who: None,
    )


def real_directory(peer: ContactsPeer, tmp_path: Path) -> Directory:
    from crm_contacts.contacts import service as contacts

    team = acme_team(peer)
    team.agents_see_all(False)
    deleted = team.contact_of(team.ana, "Gone")
    contacts.delete(peer.rt.database.unit_of_work(), caller=team.caller(team.admin, "admin"), contact_id=deleted)
    settings = load("tickets", service_env("tickets", "sqlite://", tmp_path, CRM_CONTACTS_GRPC_TARGET=peer.target))
    return Directory(
        contacts=GrpcContactDirectory(GrpcClients(settings)),
        workspace=team.workspace,
        ana=team.ana,
        anas_contact=team.anas_contact,
        luis_contact=team.luis_contact,
        deleted_contact=deleted,
        globex_contact=peer.contact(peer.workspace(name="Globex")),
        token_for=lambda who: mint_for(
            peer.rt.settings, workspace_id=who.workspace_id, user_id=who.user_id, role=who.role
        ),
    )


@pytest.fixture(params=["fake", "grpc"])
def directory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Directory]:
    if request.param == "fake":
        yield fake_directory()
        return
    peer_fixture = request.getfixturevalue("contacts_peer_service")
    yield real_directory(peer_fixture, tmp_path)


def test_a_contact_reads_the_same_from_both(directory: Directory) -> None:
    with directory.as_(directory.ana, "agent"):
        card = directory.contacts.get(directory.anas_contact)

    assert (card.id, card.name, card.email, card.owner_id) == (
        directory.anas_contact,
        "Ana's customer",
        None,
        directory.ana,
    )


@pytest.mark.parametrize("which", ["unknown", "deleted", "of another workspace"])
def test_a_contact_the_workspace_does_not_have_is_not_found_by_both(directory: Directory, which: str) -> None:
    contact_id = {
        "unknown": new_id(),
        "deleted": directory.deleted_contact,
        "of another workspace": directory.globex_contact,
    }[which]

    with directory.as_(new_id(), "admin"):
        with pytest.raises(NotFound):
            directory.contacts.get(contact_id)
        with pytest.raises(NotFound):
            directory.contacts.access(contact_id)
        with pytest.raises(InvalidInput):
            require_visible_contact(directory.contacts, contact_id, what="ticket")


def test_many_contacts_read_in_one_call_leave_out_what_the_workspace_does_not_have_in_both(
    directory: Directory,
) -> None:
    asked = [directory.anas_contact, directory.deleted_contact, directory.globex_contact, new_id(), "not-an-id"]

    with directory.as_(new_id(), "admin"):
        found = directory.contacts.get_many(asked)
        none = directory.contacts.get_many([])

    assert list(found) == [directory.anas_contact]
    assert (found[directory.anas_contact].name, found[directory.anas_contact].blocked) == ("Ana's customer", False)
    assert none == {}


@pytest.mark.parametrize(
    ("who", "whose", "visible"),
    [("admin", "luis", True), ("owner", "ana", True), ("another agent", "luis", False)],
)
def test_both_apply_the_same_visibility_rule(directory: Directory, who: str, whose: str, visible: bool) -> None:
    user_id, role = (new_id(), "admin") if who == "admin" else (directory.ana, "agent")
    contact_id = directory.anas_contact if whose == "ana" else directory.luis_contact

    with directory.as_(user_id, role):
        access = directory.contacts.access(contact_id)
        if not visible:
            with pytest.raises(NotFound):
                require_visible_contact(directory.contacts, contact_id, what="ticket")

    assert (access.visible, access.agents_see_all) == (visible, False)


# The mail transport -------------------------------------------------------------------------------------
@dataclass
class Mailbox:
    transport: Transport
    delivered: Callable[[], list[EmailMessage]]


@pytest.fixture(params=["recording", "maildir", "smtp"])
def mailbox_(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Mailbox]:
    if request.param == "recording":
        recording = RecordingTransport(refused=[REFUSED], deferred=[GREYLISTED])
        yield Mailbox(recording, lambda: list(recording.sent))
    elif request.param == "maildir":
        folder = tmp_path / "mail"

        def read() -> list[EmailMessage]:
            box = mailbox.Maildir(folder, create=False)
            return [message_from_bytes(box.get_bytes(k), policy=policy.default) for k in box.keys()]  # type: ignore[misc]

        yield Mailbox(MaildirTransport(folder), read)
    else:
        handler = RecordingSmtpHandler()
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        try:
            yield Mailbox(
                SmtpTransport("127.0.0.1", controller.port, username=None, password=None, starttls=False),
                lambda: list(handler.received),
            )
        finally:
            controller.stop()


def mail_to(recipient: str) -> EmailMessage:
    from datetime import UTC, datetime

    return rules.build(
        sender="Acme Support <support@acme.test>",
        recipient=recipient,
        subject="[#2e3f4a5b] Printer on fire",
        body="We are on it.",
        rfc822_message_id="<0190@acme.test>",
        ticket_id="0190a1b2-2e3f4a5b",
        when=datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
    )


def send(transport: Transport, mail: EmailMessage) -> None:
    transport.send(rules.wire_bytes(mail), mail_from="bounce+x@in.acme.test", rcpt_to=str(mail["To"]))


def test_every_transport_delivers_the_mail_as_it_was_built(mailbox_: Mailbox) -> None:
    send(mailbox_.transport, mail_to("ana@example.com"))

    [mail] = mailbox_.delivered()
    fields = ("From", "To", "Subject", "Message-ID", "X-CRM-Ticket-ID")
    assert {f: str(mail[f]) for f in fields} == {f: str(mail_to("ana@example.com")[f]) for f in fields}
    assert mail.get_body(preferencelist=("plain",)).get_content().strip() == "We are on it."


@pytest.mark.parametrize("mailbox_", ["recording", "smtp"], indirect=True)  # a Maildir refuses no recipient
def test_the_fake_refuses_and_defers_as_an_smtp_server_answering_5xx_and_4xx(mailbox_: Mailbox) -> None:
    with pytest.raises(PermanentFailure):
        send(mailbox_.transport, mail_to(REFUSED))
    with pytest.raises(TemporaryFailure):
        send(mailbox_.transport, mail_to(GREYLISTED))
    assert mailbox_.delivered() == []


# Finding or creating the contact of an address (inbound mail) -----------------------------------------------
@dataclass
class InboundDirectory:
    contacts: ContactDirectory
    workspace: str
    ana: str  # ana@example.com, and ana.work@example.com besides
    blocked: str  # spam@example.com, blocked
    globex_bob: str  # bob@example.com, in another workspace

    @contextlib.contextmanager
    def as_mailer(self) -> Iterator[None]:
        with context.bound(caller=Caller(self.workspace, "system:mailer", "system")):
            yield


def fake_inbound_directory() -> InboundDirectory:
    fake = FakeContactDirectory()
    acme = new_id()
    return InboundDirectory(
        contacts=fake,
        workspace=acme,
        ana=fake.add(acme, name="Ana", email="ana@example.com", other_emails=("ana.work@example.com",)).id,
        blocked=fake.add(acme, name="Spam", email="spam@example.com", blocked=True).id,
        globex_bob=fake.add(new_id(), name="Bob", email="bob@example.com").id,
    )


def real_inbound_directory(peer: ContactsPeer, tmp_path: Path) -> InboundDirectory:
    from crm_contacts.contacts import service as contacts

    acme = peer.workspace(name="Acme")
    ana = peer_contact(peer, acme, "Ana", "ana@example.com", "ana.work@example.com")
    blocked = peer_contact(peer, acme, "Spam", "spam@example.com")
    admin = Caller(acme, new_id(), "admin")
    contacts.set_blocked(peer.rt.database.unit_of_work(), caller=admin, contact_id=blocked, blocked=True)
    globex_bob = peer_contact(peer, peer.workspace(name="Globex"), "Bob", "bob@example.com")
    # As the mailer: the one service (with conversations) contacts lets find or create contacts by address.
    settings = load("mailer", service_env("mailer", "sqlite://", tmp_path, CRM_CONTACTS_GRPC_TARGET=peer.target))
    return InboundDirectory(GrpcContactDirectory(GrpcClients(settings)), acme, ana, blocked, globex_bob)


def peer_contact(peer: ContactsPeer, workspace_id: str, name: str, *emails: str) -> str:
    from tests.factories import contacts

    return contacts.contact(peer.rt.database, workspace_id, name=name, emails=list(emails))


@pytest.fixture(params=["fake", "grpc"])
def inbound_directory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InboundDirectory]:
    if request.param == "fake":
        yield fake_inbound_directory()
        return
    yield real_inbound_directory(request.getfixturevalue("contacts_peer_service"), tmp_path)


def test_an_address_finds_its_contact_by_any_of_its_emails_in_both(inbound_directory: InboundDirectory) -> None:
    with inbound_directory.as_mailer():
        primary, created = inbound_directory.contacts.find_or_create_by_email("ana@example.com")
        other, other_created = inbound_directory.contacts.find_or_create_by_email(" ANA.work@Example.com ")
        blocked, _ = inbound_directory.contacts.find_or_create_by_email("spam@example.com")

    assert (primary.id, primary.name, created) == (inbound_directory.ana, "Ana", False)
    assert (other.id, other_created) == (inbound_directory.ana, False)
    assert (blocked.id, blocked.blocked) == (inbound_directory.blocked, True)


def test_an_unknown_address_creates_one_contact_in_the_callers_workspace_in_both(
    inbound_directory: InboundDirectory,
) -> None:
    with inbound_directory.as_mailer():
        card, created = inbound_directory.contacts.find_or_create_by_email("bob@example.com", name="Bob Gil")
        again, created_again = inbound_directory.contacts.find_or_create_by_email("bob@example.com")
        unnamed, _ = inbound_directory.contacts.find_or_create_by_email("carla@example.com")
        read = inbound_directory.contacts.get(card.id)

    assert created and not created_again and again.id == card.id
    assert card.id != inbound_directory.globex_bob  # another workspace's contact with that address is not ours
    assert (card.name, card.email, card.blocked, read.email) == ("Bob Gil", "bob@example.com", False, "bob@example.com")
    assert unnamed.name == "carla"  # the local part, without a name


@pytest.mark.parametrize("address", ["not an address", "", "ana@"])
def test_a_malformed_address_is_invalid_input_in_both(inbound_directory: InboundDirectory, address: str) -> None:
    with inbound_directory.as_mailer(), pytest.raises(InvalidInput):
        inbound_directory.contacts.find_or_create_by_email(address)
