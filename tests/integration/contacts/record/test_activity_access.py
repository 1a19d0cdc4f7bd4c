"""Who reaches a contact's activity: another workspace, and agents limited to their own contacts, get 404 everywhere."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.integration.contacts.support.activity_world import World


def routes(contact: str, note: str, task: str, file: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/v1/contacts/{contact}/notes", None),
        ("POST", f"/v1/contacts/{contact}/notes", {"body": "hello"}),
        ("PATCH", f"/v1/contacts/{contact}/notes/{note}", {"body": "hello"}),
        ("DELETE", f"/v1/contacts/{contact}/notes/{note}", None),
        ("POST", f"/v1/contacts/{contact}/notes/{note}/pin", None),
        ("POST", f"/v1/contacts/{contact}/notes/{note}/unpin", None),
        ("GET", f"/v1/contacts/{contact}/tasks", None),
        ("POST", f"/v1/contacts/{contact}/tasks", {"title": "Call"}),
        ("PATCH", f"/v1/contacts/{contact}/tasks/{task}", {"done": True}),
        ("DELETE", f"/v1/contacts/{contact}/tasks/{task}", None),
        ("GET", f"/v1/contacts/{contact}/history", None),
        ("POST", f"/v1/contacts/{contact}/comments", {"body": "hello"}),
        ("GET", f"/v1/contacts/{contact}/files", None),
        ("POST", f"/v1/contacts/{contact}/files", None),
        ("GET", f"/v1/contacts/{contact}/files/{file}", None),
        ("DELETE", f"/v1/contacts/{contact}/files/{file}", None),
    ]


def call(world: World, method: str, url: str, body: dict[str, Any] | None, *, as_: str | None = None) -> Any:
    headers = world.headers(as_)
    if method == "POST" and url.endswith("/files"):
        data = {"file": (io.BytesIO(b"%PDF-1.7\n"), "a.pdf")}
        return world.api.client.post(url, data=data, content_type="multipart/form-data", headers=headers)
    return world.api.client.open(url, method=method, json=body, headers=headers)


def activity(world: World, contact: str) -> tuple[str, str, str]:
    note = world.post(f"/v1/contacts/{contact}/notes", {"body": "secret"}).get_json()["id"]
    task = world.post(f"/v1/contacts/{contact}/tasks", {"title": "secret"}).get_json()["id"]
    file = call(world, "POST", f"/v1/contacts/{contact}/files", None).get_json()["id"]
    return note, task, file


def everything_answers_404(world: World, contact: str, ids: tuple[str, str, str], *, as_: str | None) -> None:
    answers = {(method, url): call(world, method, url, body, as_=as_) for method, url, body in routes(contact, *ids)}
    assert {key: answer.status_code for key, answer in answers.items()} == {key: 404 for key in answers}
    assert {answer.mimetype for answer in answers.values()} == {"application/problem+json"}


def test_another_workspace_gets_404_on_every_route(world: World) -> None:
    contact = world.contact()
    ids = activity(world, contact)
    intruder = World.create(world.api, name="Intruders")

    everything_answers_404(intruder, contact, ids, as_=intruder.admin)
    assert len(world.get(f"/v1/contacts/{contact}/notes").get_json()["items"]) == 1
    assert len(world.get(f"/v1/contacts/{contact}/files").get_json()["items"]) == 1


@pytest.mark.parametrize("agents_see_all", [False, True])
def test_an_agent_who_sees_only_own_contacts_gets_404_on_the_others(world: World, agents_see_all: bool) -> None:
    others = world.contact(name="Someone else's", owner=world.other_agent)
    mine = world.contact(name="Mine", owner=world.agent)
    ids = activity(world, others)
    if not agents_see_all:
        world.agents_see_only_their_own()

    notes = world.get(f"/v1/contacts/{others}/notes", as_=world.agent)
    own = world.get(f"/v1/contacts/{mine}/notes", as_=world.agent)

    assert own.status_code == 200
    if agents_see_all:
        assert notes.status_code == 200
    else:
        everything_answers_404(world, others, ids, as_=world.agent)
        assert world.get(f"/v1/contacts/{others}/notes", as_=world.admin).status_code == 200


def test_a_deleted_contact_has_no_activity_to_show(world: World) -> None:
    from crm_contacts.record.models import Contact
    from crm_platform.db import utcnow

    contact = world.contact()
    ids = activity(world, contact)
    with world.api.rt.database.unit_of_work() as uow:
        uow.session.get(Contact, contact).deleted_at = utcnow()
        uow.commit()

    everything_answers_404(world, contact, ids, as_=world.admin)
