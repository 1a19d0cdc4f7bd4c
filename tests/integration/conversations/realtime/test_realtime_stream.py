"""The realtime stream as its clients see it: agents of a workspace get its events within a second, scoped to
what they may see; a visitor only their own conversation and never a note; a reconnect catches up exactly."""

from __future__ import annotations

import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from crm_conversations.realtime import server as realtime_server
from tests.factories import conversations
from tests.integration.conversations.realtime.conftest import (
    Session,
    Stream,
    frames_until_ready,
    next_event,
    nothing_within,
)
from tests.support.stack import ContactsPeer
from tests.support.team import acme_team


def started(stream: Stream, workspace_id: str, contact_id: str) -> str:
    answer = conversations.start(stream.api, stream.api.auth(workspace_id), contact_id)
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["id"])


def say(stream: Stream, workspace_id: str, conversation_id: str, body: str, *, note: bool = False) -> dict[str, Any]:
    answer = stream.api.client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"body": body, "note": note},
        headers=stream.api.auth(workspace_id),
    )
    assert answer.status_code == 201, answer.get_json()
    return dict(answer.get_json())


def test_a_message_posted_over_http_reaches_every_agent_of_the_workspace_within_a_second(
    stream: Stream, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    conversation = started(stream, acme, contacts_peer_service.contact(acme))
    stream.settle()
    agents = [stream.agent(acme, user_id=f"agent-{n}") for n in range(3)]
    for agent in agents:
        frames_until_ready(agent)

    posted_at = time.monotonic()
    message = say(stream, acme, conversation, "Your invoice is attached")

    for agent in agents:
        event = next_event(agent, timeout=1.0)
        assert (event["type"], event["conversation_id"]) == ("conversations.message.added", conversation)
        assert event["data"]["message_id"] == message["id"]
        assert event["data"]["body"] == "Your invoice is attached"
    assert time.monotonic() - posted_at < 1.0


def test_another_workspaces_agent_gets_nothing(stream: Stream, contacts_peer_service: ContactsPeer) -> None:
    acme, globex = contacts_peer_service.workspace(name="Acme"), contacts_peer_service.workspace(name="Globex")
    conversation = started(stream, acme, contacts_peer_service.contact(acme))
    stream.settle()
    outsider, insider = stream.agent(globex), stream.agent(acme)
    frames_until_ready(outsider)
    frames_until_ready(insider)

    say(stream, acme, conversation, "for Acme only")

    assert next_event(insider)["data"]["body"] == "for Acme only"
    assert nothing_within(outsider, 0.5)


def test_a_visitor_gets_only_their_conversation_and_never_a_note(
    stream: Stream, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    mine = started(stream, acme, contacts_peer_service.contact(acme))
    other = started(stream, acme, contacts_peer_service.contact(acme, name="Otro", email="otro@example.com"))
    stream.settle()
    visitor = stream.connect(stream.mint_visitor(Session(acme, "inbox-1", mine, "visitor-1")))
    frames_until_ready(visitor)

    say(stream, acme, mine, "internal: check the refund first", note=True)
    say(stream, acme, other, "someone else's answer")
    reply = say(stream, acme, mine, "Hi! How can we help?")

    event = next_event(visitor)
    assert (event["type"], event["conversation_id"]) == ("conversations.message.added", mine)
    assert event["data"] == {
        "message_id": reply["id"],
        "body": "Hi! How can we help?",
        "direction": "outbound",
        "author_type": "member",
        "automatic": False,
    }
    assert nothing_within(visitor, 0.5)


@pytest.mark.parametrize("stream", ["local"], indirect=True)  # scoping is the same whatever wakes the server
def test_a_visitor_of_a_deleted_or_foreign_conversation_is_refused(
    stream: Stream, contacts_peer_service: ContactsPeer
) -> None:
    acme, globex = contacts_peer_service.workspace(name="Acme"), contacts_peer_service.workspace(name="Globex")
    conversation = started(stream, acme, contacts_peer_service.contact(acme))
    token = stream.mint_visitor(Session(acme, "inbox-1", conversation, "visitor-1"))
    visitor = stream.connect(token)
    frames_until_ready(visitor)

    foreign = stream.connect(stream.mint_visitor(Session(globex, "inbox-1", conversation, "visitor-1")))
    assert refused_with(foreign) == ("unauthenticated", 4001)
    deleted = stream.api.client.delete(f"/v1/conversations/{conversation}", headers=stream.api.auth(acme))
    assert deleted.status_code == 204
    assert refused_with(visitor) == ("unauthenticated", 4001)
    assert refused_with(stream.connect(token)) == ("unauthenticated", 4001)


def refused_with(client: Any) -> tuple[str, int]:
    """The error code a client was sent, and the code its connection was closed with."""
    error = next_event(client, timeout=5)
    with pytest.raises(ConnectionClosed) as closed:
        client.recv(timeout=5)
    assert closed.value.rcvd is not None
    return error["code"], closed.value.rcvd.code


def test_agents_limited_to_their_own_contacts_get_only_those_contacts_events(
    stream: Stream, contacts_peer_service: ContactsPeer
) -> None:
    team = acme_team(contacts_peer_service)
    team.agents_see_all(False)
    team.deliver_events(stream.api)
    anas = started(stream, team.workspace, team.anas_contact)
    luis = started(stream, team.workspace, team.luis_contact)
    stream.settle()
    ana, admin = stream.agent(team.workspace, user_id=team.ana), stream.agent(team.workspace, team.admin, "admin")
    frames_until_ready(ana)
    frames_until_ready(admin)

    say(stream, team.workspace, luis, "for Luis's customer")
    say(stream, team.workspace, anas, "for Ana's customer")

    assert next_event(ana)["conversation_id"] == anas
    assert [next_event(admin)["conversation_id"] for _ in range(2)] == [luis, anas]


def test_a_reconnect_with_the_last_event_id_gets_exactly_what_it_missed(
    stream: Stream, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    conversation = started(stream, acme, contacts_peer_service.contact(acme))
    stream.settle()
    first = stream.agent(acme)
    frames_until_ready(first)
    say(stream, acme, conversation, "one")
    seen = next_event(first)
    first.close()

    missed = [say(stream, acme, conversation, body)["id"] for body in ("two", "three")]
    archived = stream.api.client.post(f"/v1/conversations/{conversation}/archive", headers=stream.api.auth(acme))
    assert archived.status_code == 200
    again = stream.agent(acme, last_event_id=seen["id"])
    caught_up, ready = frames_until_ready(again)
    say(stream, acme, conversation, "four")
    live = next_event(again)

    assert [f["type"] for f in caught_up] == ["conversations.message.added"] * 2 + [
        "conversations.conversation.archived"
    ]
    assert [f["data"]["message_id"] for f in caught_up[:2]] == missed
    ids = [int(f["id"]) for f in (seen, *caught_up, live)]
    assert ids == sorted(set(ids)), "each event once, in cursor order"
    assert int(ready["last_event_id"]) == int(caught_up[-1]["id"])
    assert live["data"]["body"] == "four"


@pytest.mark.parametrize("stream", ["local"], indirect=True)  # scoping is the same whatever wakes the server
def test_a_cursor_the_log_cannot_serve_asks_the_client_to_reload(
    stream: Stream, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    client = stream.agent(acme, last_event_id="999999999")

    caught_up, _ = frames_until_ready(client)

    assert caught_up == [{"type": "reset"}]


@pytest.mark.parametrize("stream", ["local"], indirect=True)
@pytest.mark.parametrize(
    ("first_frame", "code", "close_code"),
    [
        ('{"type":"auth","token":"not-a-token"}', "unauthenticated", 4001),
        ('{"type":"subscribe"}', "bad_frame", 4003),
        ("not json", "bad_frame", 4003),
    ],
)
def test_a_bad_token_or_first_frame_is_refused(stream: Stream, first_frame: str, code: str, close_code: int) -> None:
    from websockets.sync.client import connect

    with connect(stream.server.url, open_timeout=5) as client:
        client.send(first_frame)
        assert next_event(client, timeout=5)["code"] == code
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == close_code


@pytest.mark.parametrize("stream", ["local"], indirect=True)  # scoping is the same whatever wakes the server
def test_a_client_that_never_authenticates_is_closed(stream: Stream, monkeypatch: pytest.MonkeyPatch) -> None:
    from websockets.sync.client import connect

    monkeypatch.setattr(realtime_server, "AUTH_TIMEOUT", 0.3)
    with connect(stream.server.url, open_timeout=5) as client:
        assert next_event(client, timeout=5)["code"] == "auth_timeout"
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002


@pytest.mark.parametrize("stream", ["local"], indirect=True)
def test_a_client_that_does_not_read_is_dropped_instead_of_growing_the_servers_memory(
    stream: Stream, contacts_peer_service: ContactsPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    from datetime import UTC, datetime

    from websockets.sync.client import connect

    from crm_conversations.realtime import hub as realtime_hub
    from crm_conversations.realtime.service import Logged

    monkeypatch.setattr(realtime_hub, "MAX_BUFFERED", 256 * 1024)
    acme = contacts_peer_service.workspace()
    hub = stream.server.server.hub
    token = stream.api.auth(acme)["Authorization"].removeprefix("Bearer ")
    with connect(stream.server.url, open_timeout=5, max_queue=1) as slow:  # reads nothing past one frame
        slow.send(f'{{"type":"auth","token":"{token}"}}')
        frames_until_ready(slow)
        big = "x" * 100_000

        async def flood() -> None:  # 20 MB of frames, far beyond what loopback's socket buffers hold
            for n in range(200):
                row = Logged(
                    hub.watermark + 1_000_000 + n, acme, "conversations.message.added", "c", None,
                    {"body": big}, None, False, datetime.now(UTC),
                )  # fmt: skip
                hub.dispatch(row)
                await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(flood(), stream.server.loop).result(30)

        assert hub.count() == 0, "the slow client was let go"
        with pytest.raises(ConnectionClosed):
            while True:
                slow.recv(timeout=5)


@pytest.mark.parametrize("stream", ["local"], indirect=True)
def test_an_agents_stream_ends_when_their_token_expires(stream: Stream, contacts_peer_service: ContactsPeer) -> None:
    from crm_platform import auth

    acme = contacts_peer_service.workspace()
    settings = stream.api.rt.settings
    token = auth.mint(
        secret=settings.jwt_secret, production=False, workspace_id=acme, user_id="a1", role="agent", ttl_seconds=2
    )
    short, lasting = stream.connect(token), stream.agent(acme)
    frames_until_ready(short)
    frames_until_ready(lasting)
    hub = stream.server.server.hub

    stream.server.loop.call_soon_threadsafe(hub.expire, time.time())
    assert nothing_within(short, 0.3), "not expired yet"
    time.sleep(2.1)
    stream.server.loop.call_soon_threadsafe(hub.expire, time.time())

    assert refused_with(short) == ("unauthenticated", 4001)
    assert hub.count() == 1
