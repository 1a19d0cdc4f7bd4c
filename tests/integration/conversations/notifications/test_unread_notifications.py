"""A contact's message on a conversation assigned to a member who is not connected is mailed to that member
through the real mailer (gRPC SendEmail, SMTP to aiosmtpd on loopback) once the workspace's delay has passed,
unless they read it first or are connected on the realtime stream; a burst of messages makes one mail. The clock
is the test's: the worker's pass is called with ``now``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from websockets.sync.client import connect

from crm_conversations.messages.mailer import GrpcMailer
from crm_conversations.notifications import service
from crm_conversations.notifications.models import PendingNotification
from crm_conversations.presence import service as presence
from crm_conversations.presence.models import MemberPresence
from crm_conversations.realtime.server import Embedded
from crm_mailer.outbound.transport import SmtpTransport
from crm_platform.db import utcnow
from tests.factories import conversations
from tests.integration.conversations.mailing import Mailer, Sink, conversations_beside, deliver
from tests.support.stack import ContactsPeer, RunningService

DELAY = 60  # the workspace's delay in these tests (PUT /v1/conversations/notification-settings)
HEARTBEAT = 30.0  # CONVERSATIONS_PRESENCE_HEARTBEAT_SECONDS: a heartbeat counts for 90 s


@pytest.fixture
def inbox(
    database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer, mailer_peer: Mailer
) -> Iterator[RunningService]:
    link = "https://crm.acme.test/conversations/{conversation_id}"
    with conversations_beside(
        database_url, tmp_path, contacts_peer_service, mailer_peer, CONVERSATIONS_CONVERSATION_LINK=link
    ) as service:
        yield service


@dataclass
class Team:
    workspace_id: str
    luis: str  # the assignee
    luis_email: str
    contact_id: str
    luis_headers: dict[str, str]


@pytest.fixture
def team(inbox: RunningService, contacts_peer_service: ContactsPeer) -> Team:
    from crm_contacts.members.models import Member

    acme = contacts_peer_service.workspace()
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    with contacts_peer_service.rt.database.unit_of_work() as uow:
        email = uow.session.get(Member, luis).email  # type: ignore[union-attr]
    ana = contacts_peer_service.contact(acme, name="Ana López", email="ana@example.com")
    admin = inbox.auth(acme, user_id="admin-1", role="admin")
    answer = inbox.client.put("/v1/conversations/notification-settings", json={"delay_seconds": DELAY}, headers=admin)
    assert answer.status_code == 200, answer.get_json()
    return Team(acme, luis, email, ana, inbox.auth(acme, user_id=luis, role="agent"))


def assigned_conversation(inbox: RunningService, team: Team, subject: str = "Invoice 42") -> str:
    answer = inbox.client.post(
        "/v1/conversations",
        json={"contact_id": team.contact_id, "subject": subject, "assignee_id": team.luis},
        headers=team.luis_headers,
    )
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["id"])


def contact_writes(inbox: RunningService, team: Team, conversation_id: str, text: str) -> None:
    conversations.inbound(
        inbox, team.workspace_id, team.contact_id, target="conversation", conversation_id=conversation_id, text=text
    )


def arrived_at(inbox: RunningService, conversation_id: str) -> datetime:
    with inbox.rt.database.unit_of_work() as uow:
        return uow.session.scalars(
            select(PendingNotification.arrived_at).where(PendingNotification.conversation_id == conversation_id)
        ).one()


def worker_pass(inbox: RunningService, mailer: Mailer, now: datetime) -> service.Outcome:
    """One pass of the worker's loop (notifications/loops.py) at ``now``."""
    return service.send_due(
        inbox.rt.database,
        GrpcMailer(inbox.rt.grpc),
        now=now,
        heartbeat_seconds=HEARTBEAT,
        link=inbox.rt.service_settings.conversation_link,
        default_delay_seconds=300,
    )


def test_an_unread_message_of_a_member_not_connected_is_mailed_once_after_the_delay(
    inbox: RunningService, team: Team, mailer_peer: Mailer, smtp: tuple[SmtpTransport, Sink]
) -> None:
    transport, sink = smtp
    conversation_id = assigned_conversation(inbox, team)
    contact_writes(inbox, team, conversation_id, "Any news about my invoice?")
    first = arrived_at(inbox, conversation_id)

    early = worker_pass(inbox, mailer_peer, first + timedelta(seconds=DELAY - 1))
    assert (early, deliver(mailer_peer, transport)) == (service.Outcome(), 0)

    due = worker_pass(inbox, mailer_peer, first + timedelta(seconds=DELAY))
    assert due.sent == 1
    assert deliver(mailer_peer, transport) == 1
    [mail] = sink.received
    assert mail["To"] == team.luis_email
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"] is None
    assert "Ana López" in mail["Subject"] and "Invoice 42" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "> Any news about my invoice?" in text
    assert f"https://crm.acme.test/conversations/{conversation_id}" in text

    again = worker_pass(inbox, mailer_peer, first + timedelta(seconds=DELAY * 10))
    assert (again, deliver(mailer_peer, transport), len(sink.received)) == (service.Outcome(), 0, 1)


def test_two_messages_of_a_burst_make_one_mail_with_the_latest(
    inbox: RunningService, team: Team, mailer_peer: Mailer, smtp: tuple[SmtpTransport, Sink]
) -> None:
    transport, sink = smtp
    conversation_id = assigned_conversation(inbox, team)
    contact_writes(inbox, team, conversation_id, "Hello?")
    first = arrived_at(inbox, conversation_id)
    contact_writes(inbox, team, conversation_id, "Is anyone there?")

    assert worker_pass(inbox, mailer_peer, first + timedelta(seconds=DELAY)).sent == 1
    assert deliver(mailer_peer, transport) == 1
    [mail] = sink.received
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "> Is anyone there?" in text and "2 unread messages" in text


def test_a_member_who_read_the_conversation_before_the_delay_gets_no_mail(
    inbox: RunningService, team: Team, mailer_peer: Mailer, smtp: tuple[SmtpTransport, Sink]
) -> None:
    transport, sink = smtp
    conversation_id = assigned_conversation(inbox, team)
    contact_writes(inbox, team, conversation_id, "Any news?")
    first = arrived_at(inbox, conversation_id)

    read = inbox.client.post(f"/v1/conversations/{conversation_id}/read", headers=team.luis_headers)
    assert read.status_code == 200, read.get_json()

    outcome = worker_pass(inbox, mailer_peer, first + timedelta(seconds=DELAY))
    assert (outcome.sent, outcome.read) == (0, 1)
    assert (deliver(mailer_peer, transport), sink.received) == (0, [])


def test_a_member_connected_to_the_realtime_stream_when_it_comes_due_gets_no_mail(
    inbox: RunningService, team: Team, mailer_peer: Mailer, smtp: tuple[SmtpTransport, Sink]
) -> None:
    transport, sink = smtp
    conversation_id = assigned_conversation(inbox, team)
    contact_writes(inbox, team, conversation_id, "Any news?")
    first = arrived_at(inbox, conversation_id)
    server = Embedded(inbox.rt, port=0)
    try:
        token = team.luis_headers["Authorization"].removeprefix("Bearer ")
        with connect(server.url, open_timeout=5) as socket:
            socket.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(socket.recv(5))["type"] == "ready"
            outcome = worker_pass(inbox, mailer_peer, first + timedelta(seconds=DELAY))
        assert (outcome.sent, outcome.connected) == (0, 1)
        assert (deliver(mailer_peer, transport), sink.received) == (0, [])
        # Closing the socket takes the member's presence with it.
        deadline = utcnow() + timedelta(seconds=5)
        while _presence_rows(inbox) and utcnow() < deadline:
            pass
        assert _presence_rows(inbox) == []
    finally:
        server.stop()


def test_a_member_counts_as_connected_only_while_a_replicas_heartbeat_is_fresh(inbox: RunningService) -> None:
    database = inbox.rt.database
    presence.joined(database, replica_id="replica-a", workspace_id="ws-1", member_id="luis")
    presence.joined(database, replica_id="replica-a", workspace_id="ws-1", member_id="luis")  # a second tab
    presence.left(database, replica_id="replica-a", workspace_id="ws-1", member_id="luis")
    now = utcnow()
    with database.unit_of_work() as uow:
        ask = {"workspace_id": "ws-1", "member_ids": ["luis", "eva"], "heartbeat_seconds": HEARTBEAT}
        assert presence.connected(uow.session, now=now, **ask) == {"luis"}  # one tab still open
        assert presence.connected(uow.session, now=now + timedelta(seconds=91), **ask) == set()  # the replica died
    presence.heartbeat(database, replica_id="replica-a")
    with database.unit_of_work() as uow:
        assert presence.connected(uow.session, now=utcnow() + timedelta(seconds=60), **ask) == {"luis"}
    assert presence.forget_stale(database, now=utcnow(), heartbeat_seconds=HEARTBEAT) == 0
    assert presence.forget_stale(database, now=utcnow() + timedelta(hours=1), heartbeat_seconds=HEARTBEAT) == 1
    assert _presence_rows(inbox) == []


def test_an_unassigned_conversation_notifies_nobody(inbox: RunningService, team: Team) -> None:
    answer = conversations.start(inbox, team.luis_headers, team.contact_id, "Nobody's")
    conversation_id = answer.get_json()["id"]
    assert answer.get_json()["assignee_id"] is None
    contact_writes(inbox, team, conversation_id, "Hello?")
    with inbox.rt.database.unit_of_work() as uow:
        assert uow.session.scalars(select(PendingNotification)).all() == []


def test_only_an_admin_changes_the_delay_within_its_bounds(
    inbox: RunningService, team: Team, contacts_peer_service: ContactsPeer
) -> None:
    agent = team.luis_headers
    assert inbox.client.get("/v1/conversations/notification-settings", headers=agent).get_json() == {
        "delay_seconds": DELAY
    }
    refused = inbox.client.put("/v1/conversations/notification-settings", json={"delay_seconds": 5}, headers=agent)
    assert refused.status_code == 403
    admin = inbox.auth(team.workspace_id, role="admin")
    too_long = inbox.client.put("/v1/conversations/notification-settings", json={"delay_seconds": -1}, headers=admin)
    assert too_long.status_code == 422 and too_long.mimetype == "application/problem+json"
    other = inbox.auth(contacts_peer_service.workspace(name="Globex"), role="admin")  # the default there
    assert inbox.client.get("/v1/conversations/notification-settings", headers=other).get_json() == {
        "delay_seconds": 300
    }


def _presence_rows(inbox: RunningService) -> list[tuple[str, str]]:
    with inbox.rt.database.unit_of_work() as uow:
        return [(r.member_id, r.replica_id) for r in uow.session.scalars(select(MemberPresence))]
