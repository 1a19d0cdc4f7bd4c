"""Ticket lists over HTTP on SQLite and PostgreSQL: each filter, each sort with its cursors, the views bar's
counts (kept by the counters and counted for restricted agents), and agents' visibility on both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from crm_tickets.tickets.models import TicketViewCount
from tests.factories import tickets
from tests.integration.tickets.tickets.test_ticket_changes_api import Desk
from tests.support.stack import ContactsPeer, RunningService, problem_fields
from tests.support.team import Team, acme_team, every_page


@pytest.fixture
def desk(tickets_api: RunningService, contacts_peer_service: ContactsPeer) -> Desk:
    return Desk(tickets_api, contacts_peer_service)


def ids(desk: Desk, query: str) -> list[str]:
    answer = desk.get(f"/v1/tickets?{query}")
    assert answer.status_code == 200, answer.get_json()
    return [t["id"] for t in answer.get_json()["items"]]


@pytest.fixture
def five(desk: Desk) -> dict[str, Any]:
    """Five tickets of two contacts, of every kind a filter tells apart; oldest first."""
    ana, luis = desk.contact(), desk.contact(name="Luis", email="luis@example.com")
    opened = [
        desk.open(ana, "Printer on fire", priority="urgent", tags=["hardware"]),
        desk.open(ana, "Invoice missing", priority="low", tags=["billing"], responsible_id=desk.member),
        desk.open(luis, "printer jammed", priority="high", tags=["hardware", "vip"]),
        desk.open(luis, "Password reset 100%", responsible_id=desk.member),
        desk.open(ana, "Thanks!"),
    ]
    assert desk.patch(opened[1]["id"], {"status": "pending"}).status_code == 200
    assert desk.patch(opened[4]["id"], {"status": "solved"}).status_code == 200
    return {"ana": ana, "luis": luis, "t": [t["id"] for t in opened]}


def test_each_filter_keeps_its_tickets_newest_first(desk: Desk, five: dict[str, Any]) -> None:
    t = five["t"]
    me = desk.api.auth(desk.workspace, user_id=desk.member, role="agent")

    assert ids(desk, "") == t[::-1]
    assert ids(desk, f"contact_id={five['ana']}") == [t[4], t[1], t[0]]
    assert ids(desk, "status=pending") == [t[1]]
    assert ids(desk, "status=new&status=solved") == [t[4], t[3], t[2], t[0]]
    assert ids(desk, f"responsible={desk.member}") == [t[3], t[1]]
    assert ids(desk, "responsible=unassigned") == [t[4], t[2], t[0]]
    mine = desk.api.client.get("/v1/tickets?responsible=me", headers=me).get_json()["items"]
    assert [x["id"] for x in mine] == [t[3], t[1]]
    assert ids(desk, "priority=urgent") == [t[0]]
    assert ids(desk, "tag=HARDWARE") == [t[2], t[0]]
    assert ids(desk, "number=3") == [t[2]]
    assert ids(desk, "q=PRINTER") == [t[2], t[0]]
    assert ids(desk, f"q={quote('100%')}") == [t[3]]
    assert ids(desk, "q=%25") == [t[3]]  # a % is the character, not a wildcard
    assert ids(desk, f"contact_id={five['luis']}&priority=high") == [t[2]]


def test_created_and_updated_ranges(desk: Desk, five: dict[str, Any]) -> None:
    t = five["t"]
    third = desk.get(f"/v1/tickets/{t[2]}").get_json()
    at = quote(third["created_at"])
    later = quote((datetime.now(UTC) + timedelta(hours=1)).isoformat())

    assert ids(desk, f"created_after={at}") == [t[4], t[3], t[2]]
    assert ids(desk, f"created_before={at}") == [t[1], t[0]]
    assert ids(desk, f"created_after={later}") == []
    assert desk.patch(t[0], {"subject": "touched"}).status_code == 200
    touched = desk.get(f"/v1/tickets/{t[0]}").get_json()["updated_at"]
    assert ids(desk, f"updated_after={quote(touched)}") == [t[0]]
    assert ids(desk, "updated_before=2000-01-01T00:00:00") == []  # no offset: UTC


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("created", [0, 1, 2, 3, 4]),
        ("-created", [4, 3, 2, 1, 0]),
        ("number", [0, 1, 2, 3, 4]),
        ("-number", [4, 3, 2, 1, 0]),
        ("-priority", [0, 2, 4, 3, 1]),  # urgent, high, normal (newest first among them), low
        ("priority", [1, 3, 4, 2, 0]),
        ("-updated", [4, 1, 3, 2, 0]),  # 4 and 1 changed status last
    ],
)
def test_sorts_walk_every_page_by_cursor(desk: Desk, five: dict[str, Any], sort: str, order: list[int]) -> None:
    pages = every_page(desk.api, f"/v1/tickets?sort={sort}", desk.headers, limit=2)

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [x["id"] for p in pages for x in p] == [five["t"][i] for i in order]


def test_a_tag_walks_every_page_by_cursor_and_follows_changed_tags(desk: Desk, five: dict[str, Any]) -> None:
    t = five["t"]
    assert desk.patch(t[4], {"tags": ["Hardware", "zeta"]}).status_code == 200  # tagged after it was opened
    assert desk.patch(t[0], {"tags": ["billing"]}).status_code == 200  # no longer hardware

    newest = every_page(desk.api, "/v1/tickets?tag=hardware", desk.headers, limit=1)
    oldest = every_page(desk.api, "/v1/tickets?tag=hardware&sort=created", desk.headers, limit=1)

    assert [[x["id"] for x in page] for page in newest] == [[t[4]], [t[2]]]
    assert [x["tags"] for page in newest for x in page] == [["hardware", "zeta"], ["hardware", "vip"]]
    assert [x["id"] for page in oldest for x in page] == [t[2], t[4]]
    assert ids(desk, "tag=hardware&status=solved") == [t[4]]
    assert ids(desk, "tag=billing&sort=-number") == [t[1], t[0]]
    assert ids(desk, "tag=vip&contact_id=" + five["ana"]) == []


def test_a_cursor_of_another_sort_or_made_up_is_422_on_cursor(desk: Desk, five: dict[str, Any]) -> None:
    cursor = desk.get("/v1/tickets?sort=number&limit=2").get_json()["next_cursor"]

    other_sort = desk.get(f"/v1/tickets?sort=-number&limit=2&cursor={cursor}")
    made_up = desk.get("/v1/tickets?cursor=bm90LWEtY3Vyc29y.AAAA")

    assert (other_sort.status_code, problem_fields(other_sort.get_json())) == (422, {"cursor": "invalid"})
    assert (made_up.status_code, problem_fields(made_up.get_json())) == (422, {"cursor": "invalid"})


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=name", "sort"),
        ("status=archived", "status.0"),
        ("priority=soon", "priority"),
        ("number=zero", "number"),
        ("created_after=yesterday", "created_after"),
        ("limit=1000", "limit"),
        ("colour=red", "colour"),
    ],
)
def test_bad_list_parameters_are_422_on_their_field(desk: Desk, query: str, field: str) -> None:
    answer = desk.get(f"/v1/tickets?{query}")

    assert answer.status_code == 422
    assert field in problem_fields(answer.get_json())


def counters(api: RunningService, workspace_id: str) -> dict[tuple[str, str], int]:
    with api.rt.database.engine.connect() as connection:
        rows = connection.execute(
            select(TicketViewCount.status, TicketViewCount.responsible_id, TicketViewCount.tickets).where(
                TicketViewCount.workspace_id == workspace_id, TicketViewCount.tickets != 0
            )
        )
        return {(status, who): n for status, who, n in rows}


def test_the_views_bar_counts_follow_opening_changes_and_merges(desk: Desk, five: dict[str, Any]) -> None:
    t = five["t"]
    me = desk.api.auth(desk.workspace, user_id=desk.member, role="agent")

    bar = desk.get("/v1/tickets/counts").get_json()
    mine = desk.api.client.get("/v1/tickets/counts", headers=me).get_json()

    assert bar == {
        "statuses": {"new": 3, "open": 0, "pending": 1, "stopped": 0, "solved": 1, "closed": 0},
        "mine": 0,
        "unassigned": 2,  # t0, t2 (t4 is solved)
        "open": 3,
        "pending": 1,
    }
    assert (mine["mine"], mine["unassigned"]) == (2, 2)
    assert desk.patch(t[2], {"responsible_id": desk.member, "status": "open"}).status_code == 200
    merged = desk.api.client.post(f"/v1/tickets/{t[0]}/merge", json={"into_ticket_id": t[2]}, headers=desk.headers)
    assert merged.status_code == 200
    after = desk.api.client.get("/v1/tickets/counts", headers=me).get_json()
    assert after["statuses"] == {"new": 1, "open": 1, "pending": 1, "stopped": 0, "solved": 1, "closed": 1}
    assert (after["mine"], after["unassigned"], after["open"]) == (3, 0, 2)
    assert counters(desk.api, desk.workspace) == {
        ("new", desk.member): 1,
        ("open", desk.member): 1,
        ("pending", desk.member): 1,
        ("solved", ""): 1,
        ("closed", ""): 1,
    }


@pytest.fixture
def team(contacts_peer_service: ContactsPeer) -> Team:
    return acme_team(contacts_peer_service)


def test_agents_who_see_only_their_contacts_list_and_count_only_those_tickets(
    tickets_api: RunningService, team: Team
) -> None:
    admin = team.headers(tickets_api, team.admin)
    anas = [tickets.open_ticket(tickets_api, admin, team.anas_contact, f"ana {n}").get_json()["id"] for n in range(3)]
    luis = tickets.open_ticket(tickets_api, admin, team.luis_contact, "luis").get_json()["id"]
    ana = team.headers(tickets_api, team.ana)
    assert (
        tickets_api.client.patch(f"/v1/tickets/{anas[0]}", json={"status": "pending"}, headers=admin).status_code == 200
    )
    team.agents_see_all(False)
    team.deliver_events(tickets_api)

    listed = tickets_api.client.get("/v1/tickets?status=new&status=pending", headers=ana).get_json()["items"]
    counted = tickets_api.client.get("/v1/tickets/counts", headers=ana).get_json()
    everyone = tickets_api.client.get("/v1/tickets/counts", headers=admin).get_json()

    assert [x["id"] for x in listed] == anas[::-1]
    assert counted["statuses"] == {"new": 2, "open": 0, "pending": 1, "stopped": 0, "solved": 0, "closed": 0}
    assert (counted["unassigned"], counted["open"]) == (3, 2)
    assert everyone["statuses"]["new"] == 3
    assert tickets_api.client.patch(f"/v1/tickets/{luis}", json={"priority": "high"}, headers=ana).status_code == 404
    assert tickets_api.client.get(f"/v1/tickets/{luis}/history", headers=ana).status_code == 404
    into_hidden = tickets_api.client.post(f"/v1/tickets/{anas[1]}/merge", json={"into_ticket_id": luis}, headers=ana)
    assert into_hidden.status_code == 404


def test_another_workspace_counts_and_lists_none_of_them(
    desk: Desk, five: dict[str, Any], tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    other = Desk(tickets_api, contacts_peer_service, name="Globex")

    assert other.get("/v1/tickets/counts").get_json()["statuses"] == dict.fromkeys(
        ("new", "open", "pending", "stopped", "solved", "closed"), 0
    )
    assert other.get(f"/v1/tickets?contact_id={five['ana']}").get_json()["items"] == []
    assert other.get("/v1/tickets?number=1").get_json()["items"] == []
    assert other.get("/v1/tickets?tag=hardware").get_json()["items"] == []
