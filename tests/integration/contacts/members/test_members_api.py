"""Team members over HTTP and gRPC: admins manage them, agents read them and edit only their own name and signature."""

from __future__ import annotations

import grpc
import pytest

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm.events.v1 import contacts_pb2 as contact_events
from crm_contacts.app import SERVICE
from crm_events.contacts import MEMBER_ADDED, MEMBER_UPDATED
from crm_platform.grpc_server import GrpcServer
from tests.integration.contacts.support.config_team import Team, assert_problem
from tests.support import service_keys
from tests.support.stack import RunningService


def add_member(team: Team, **fields: str) -> dict[str, object]:
    body = {"name": "Marta Ruiz", "email": "marta@example.com", "role": "agent", **fields}
    answer = team.send("POST", "/v1/contacts/members", body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_admin_adds_a_member_readable_at_its_location(team: Team) -> None:
    answer = team.send(
        "POST",
        "/v1/contacts/members",
        {"name": " Marta  Ruiz ", "email": "Marta@Example.COM", "role": "agent", "signature": "Marta\nAcme"},
    )

    assert answer.status_code == 201
    member = answer.get_json()
    assert (member["name"], member["email"], member["role"], member["active"]) == (
        "Marta Ruiz",
        "marta@example.com",
        "agent",
        True,
    )
    fetched = team.api.client.get(answer.headers["Location"], headers=team.agent)
    assert fetched.status_code == 200
    assert fetched.get_json() == member


def test_member_email_is_unique_in_the_workspace_whatever_its_case(team: Team, other_team: Team) -> None:
    add_member(team, email="marta@example.com")

    answer = team.send("POST", "/v1/contacts/members", {"name": "M", "email": "MARTA@example.com", "role": "admin"})

    assert_problem(answer, 409, {"email": "taken"})
    add_member(other_team, email="marta@example.com")  # another workspace may have the same person


def test_invalid_member_fields_are_named(team: Team) -> None:
    answer = team.send("POST", "/v1/contacts/members", {"name": "M", "email": "not-an-email", "role": "owner"})

    assert_problem(answer, 422, {"email": "invalid_email", "role": "invalid_role"})


def test_agent_may_not_add_change_or_deactivate_members(team: Team) -> None:
    body = {"name": "M", "email": "m@example.com", "role": "agent"}

    assert_problem(team.send("POST", "/v1/contacts/members", body, as_agent=True), 403)
    assert_problem(team.send("PATCH", f"/v1/contacts/members/{team.admin_id}", {"name": "X"}, as_agent=True), 403)
    assert_problem(team.send("DELETE", f"/v1/contacts/members/{team.admin_id}", as_agent=True), 403)
    assert team.get(f"/v1/contacts/members/{team.admin_id}").get_json()["name"] == "Laura Admin"


def test_member_edits_own_name_and_signature_but_not_own_role(team: Team) -> None:
    own = f"/v1/contacts/members/{team.agent_id}"

    changed = team.send("PATCH", own, {"name": "Luis R.", "signature": "-- Luis"}, as_agent=True)
    promoted = team.send("PATCH", own, {"role": "admin"}, as_agent=True)

    assert changed.status_code == 200
    assert (changed.get_json()["name"], changed.get_json()["signature"]) == ("Luis R.", "-- Luis")
    assert_problem(promoted, 403)
    assert team.get(own).get_json()["role"] == "agent"


def test_me_is_the_callers_own_member_record(team: Team) -> None:
    answer = team.get("/v1/contacts/members/me", as_agent=True)

    assert answer.status_code == 200
    assert (answer.get_json()["id"], answer.get_json()["name"]) == (team.agent_id, "Luis Agent")


def test_member_list_pages_by_cursor_in_the_order_members_were_added(team: Team) -> None:
    added = [add_member(team, email=f"m{n}@example.com")["id"] for n in range(3)]

    seen: list[str] = []
    url = "/v1/contacts/members?limit=2"
    while url:
        body = team.get(url, as_agent=True).get_json()
        seen += [m["id"] for m in body["items"]]
        url = f"/v1/contacts/members?limit=2&cursor={body['next_cursor']}" if body["next_cursor"] else ""
        assert len(seen) <= 5

    assert seen == [team.admin_id, team.agent_id, *added]


def test_deactivated_member_keeps_its_record_but_leaves_the_active_list(team: Team) -> None:
    answer = team.send("DELETE", f"/v1/contacts/members/{team.agent_id}")

    assert answer.status_code == 200
    assert answer.get_json()["active"] is False
    assert team.get(f"/v1/contacts/members/{team.agent_id}").get_json()["active"] is False
    active = team.get("/v1/contacts/members?active=true").get_json()["items"]
    assert [m["id"] for m in active] == [team.admin_id]


def test_last_active_admin_can_be_neither_deactivated_nor_demoted(team: Team) -> None:
    assert_problem(team.send("DELETE", f"/v1/contacts/members/{team.admin_id}"), 409)
    assert_problem(team.send("PATCH", f"/v1/contacts/members/{team.admin_id}", {"role": "agent"}), 409)

    second = add_member(team, role="admin")
    assert team.send("DELETE", f"/v1/contacts/members/{team.admin_id}").status_code == 200
    assert_problem(team.send("DELETE", f"/v1/contacts/members/{second['id']}"), 409)


def test_another_workspaces_member_is_not_found(team: Team, other_team: Team) -> None:
    stranger = f"/v1/contacts/members/{other_team.agent_id}"

    assert_problem(team.get(stranger), 404)
    assert_problem(team.send("PATCH", stranger, {"name": "X"}), 404)
    assert_problem(team.send("DELETE", stranger), 404)
    assert other_team.get(stranger).get_json()["active"] is True


def test_grpc_members_answer_for_the_callers_workspace_only(api: RunningService, team: Team, other_team: Team) -> None:
    team.send("DELETE", f"/v1/contacts/members/{team.agent_id}")
    server = GrpcServer(
        [(b, api.rt.metrics) for b in SERVICE.grpc_bindings(api.rt)], address="127.0.0.1:0", settings=api.rt.settings
    )
    server.start()
    metadata = service_keys.credentials("tickets", "crm.contacts.v1.ContactsService", workspace_id=team.workspace_id)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = contacts_pb2_grpc.ContactsServiceStub(channel)
            listed = stub.ListMembers(contacts_pb2.ListMembersRequest(), metadata=metadata, timeout=5)
            member = stub.GetMember(
                contacts_pb2.GetMemberRequest(member_id=team.admin_id), metadata=metadata, timeout=5
            )
            with pytest.raises(grpc.RpcError) as stranger:
                stub.GetMember(
                    contacts_pb2.GetMemberRequest(member_id=other_team.admin_id), metadata=metadata, timeout=5
                )
    finally:
        server.stop(grace=0)

    assert [m.id for m in listed.members] == [team.admin_id]  # the deactivated agent is left out
    assert (member.name, member.email, member.role) == (
        "Laura Admin",
        team.get("/v1/contacts/members/me").get_json()["email"],
        "admin",
    )
    assert stranger.value.code() == grpc.StatusCode.NOT_FOUND


def member_of(announced: contact_events.MemberChanged) -> tuple[str, str, str, str, bool]:
    return (announced.member_id, announced.name, announced.email, announced.role, announced.active)


def test_a_new_workspace_announces_its_first_admin_and_each_member_added(team: Team) -> None:
    added = add_member(team, name="Marta Ruiz", email="Marta@Example.com")

    announced = team.announced(MEMBER_ADDED)

    assert [member_of(m) for m in announced[:2]] == [
        (
            team.admin_id,
            "Laura Admin",
            team.get(f"/v1/contacts/members/{team.admin_id}").get_json()["email"],
            "admin",
            True,
        ),
        (
            team.agent_id,
            "Luis Agent",
            team.get(f"/v1/contacts/members/{team.agent_id}").get_json()["email"],
            "agent",
            True,
        ),
    ]
    assert member_of(announced[2]) == (added["id"], "Marta Ruiz", "marta@example.com", "agent", True)
    assert announced[2].actor_id == team.admin_id
    assert team.announced(MEMBER_UPDATED) == []


def test_a_changed_or_deactivated_member_is_announced_as_it_now_is(team: Team) -> None:
    marta = add_member(team)
    team.send("PATCH", f"/v1/contacts/members/{marta['id']}", {"name": "Marta Ruiz Gil", "role": "admin"})
    team.send("PATCH", f"/v1/contacts/members/{marta['id']}", {"name": "Marta Ruiz Gil"})  # no change: no event
    team.send("PATCH", f"/v1/contacts/members/{team.agent_id}", {"signature": "Luis"}, as_agent=True)
    team.send("DELETE", f"/v1/contacts/members/{marta['id']}")
    team.send("DELETE", f"/v1/contacts/members/{marta['id']}")  # already inactive: no event

    updated = team.announced(MEMBER_UPDATED)

    assert [member_of(m) for m in updated] == [
        (marta["id"], "Marta Ruiz Gil", "marta@example.com", "admin", True),
        (team.agent_id, "Luis Agent", updated[1].email, "agent", True),
        (marta["id"], "Marta Ruiz Gil", "marta@example.com", "admin", False),
    ]
    assert [m.actor_id for m in updated] == [team.admin_id, team.agent_id, team.admin_id]
