"""Mail sent to a contact obeys "agents see only their own contacts": 404 and left out of lists."""

from __future__ import annotations

import pytest

from tests.factories import tickets
from tests.support.stack import ContactsPeer, RunningService
from tests.support.team import Team, acme_team, every_page, grpc_calls_served


@pytest.fixture
def team(contacts_peer_service: ContactsPeer) -> Team:
    return acme_team(contacts_peer_service)


def mail_a_comment_to(api: RunningService, team: Team, contact_id: str) -> str:
    """The mailer consumes a public comment for the contact; returns the id of the queued mail."""
    api.consume(tickets.public_comment_added(team.workspace, contact_id, author_id=team.admin))
    newest = api.client.get("/v1/mailer/messages?limit=1", headers=team.headers(api, team.admin))
    return newest.get_json()["items"][0]["id"]


def test_agent_gets_404_for_mail_sent_to_a_hidden_contact_and_lists_leave_it_out(
    mailer_api: RunningService, team: Team
) -> None:
    sent: dict[str, list[str]] = {team.anas_contact: [], team.luis_contact: []}
    for n in range(24):
        contact = team.anas_contact if n % 2 else team.luis_contact
        sent[contact].append(mail_a_comment_to(mailer_api, team, contact))
    team.agents_see_all(False)
    team.deliver_events(mailer_api)
    calls_before = grpc_calls_served(team.peer)

    ana = team.headers(mailer_api, team.ana)
    hidden = mailer_api.client.get(f"/v1/mailer/messages/{sent[team.luis_contact][0]}", headers=ana)
    own = mailer_api.client.get(f"/v1/mailer/messages/{sent[team.anas_contact][0]}", headers=ana)
    pages = every_page(mailer_api, "/v1/mailer/messages", ana, limit=5)
    admin_pages = every_page(mailer_api, "/v1/mailer/messages", team.headers(mailer_api, team.admin), limit=5)

    assert hidden.status_code == 404
    assert own.status_code == 200
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [m["id"] for p in pages for m in p] == sent[team.anas_contact][::-1]
    assert sum(len(p) for p in admin_pages) == 24
    assert grpc_calls_served(team.peer) == calls_before


def test_mail_follows_the_contacts_owner_once_the_event_is_consumed(mailer_api: RunningService, team: Team) -> None:
    team.agents_see_all(False)
    team.deliver_events(mailer_api)
    mail = mail_a_comment_to(mailer_api, team, team.luis_contact)
    path = f"/v1/mailer/messages/{mail}"
    assert mailer_api.client.get(path, headers=team.headers(mailer_api, team.ana)).status_code == 404
    assert mailer_api.client.get(path, headers=team.headers(mailer_api, team.luis)).status_code == 200

    team.give(team.luis_contact, team.ana)
    team.deliver_events(mailer_api)

    assert mailer_api.client.get(path, headers=team.headers(mailer_api, team.ana)).status_code == 200
    assert mailer_api.client.get(path, headers=team.headers(mailer_api, team.luis)).status_code == 404
