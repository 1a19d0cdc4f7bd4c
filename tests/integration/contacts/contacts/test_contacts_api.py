"""The contacts HTTP API on a real database: create, read, list, validation, tenancy, and its event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm.events.v1 import contacts_pb2
from crm_contacts.workspaces import service as workspaces
from crm_platform.db import UnitOfWork
from crm_platform.events import payload_of
from tests.support.stack import RunningService, problem_fields


def new_workspace(api: RunningService, *, name: str = "Acme", region: str = "ES") -> str:
    return workspaces.create(api.rt.database.unit_of_work(), name=name, default_region=region).id


def contact_events(api: RunningService) -> list[Any]:
    """The contact record's events in the outbox (a new workspace announces its settings, funnel and sources)."""
    return [e for e in api.outbox() if e.type.startswith("contacts.contact.")]


def create_contact(api: RunningService, workspace_id: str, **fields: Any) -> Any:
    body = {"name": "Ana López", **fields}
    return api.client.post("/v1/contacts", json=body, headers=api.auth(workspace_id))


def test_created_contact_is_normalised_and_readable_at_its_location(contacts_api: RunningService) -> None:
    acme = new_workspace(contacts_api, region="ES")

    created = create_contact(contacts_api, acme, name="  Ana   López ", email="Ana@Example.COM", phone="612 345 678")

    assert created.status_code == 201
    contact = created.get_json()
    assert (contact["name"], contact["email"], contact["phone"]) == ("Ana López", "ana@example.com", "+34612345678")
    assert created.headers["Location"] == f"/v1/contacts/{contact['id']}"
    fetched = contacts_api.client.get(created.headers["Location"], headers=contacts_api.auth(acme))
    assert fetched.status_code == 200
    assert fetched.get_json() == contact


def test_phone_is_read_in_the_workspace_region(contacts_api: RunningService) -> None:
    london = new_workspace(contacts_api, name="London office", region="GB")

    created = create_contact(contacts_api, london, phone="020 7946 0958")

    assert created.status_code == 201
    assert created.get_json()["phone"] == "+442079460958"


def test_contact_list_pages_by_cursor_newest_first_without_duplicates(contacts_api: RunningService) -> None:
    acme = new_workspace(contacts_api)
    created_ids = [create_contact(contacts_api, acme, name=f"Contact {n}").get_json()["id"] for n in range(5)]

    pages: list[list[str]] = []
    url = "/v1/contacts?limit=2"
    while url:
        answer = contacts_api.client.get(url, headers=contacts_api.auth(acme))
        assert answer.status_code == 200
        body = answer.get_json()
        pages.append([item["id"] for item in body["items"]])
        url = f"/v1/contacts?limit=2&cursor={body['next_cursor']}" if body["next_cursor"] else ""
        assert len(pages) <= 4, "the cursor never ran out"

    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [contact_id for page in pages for contact_id in page]
    assert listed == list(reversed(created_ids))


def test_a_full_last_page_offers_no_next_cursor(contacts_api: RunningService) -> None:
    acme = new_workspace(contacts_api)
    for n in range(4):
        create_contact(contacts_api, acme, name=f"Contact {n}")

    first = contacts_api.client.get("/v1/contacts?limit=2", headers=contacts_api.auth(acme)).get_json()
    second = contacts_api.client.get(
        f"/v1/contacts?limit=2&cursor={first['next_cursor']}", headers=contacts_api.auth(acme)
    ).get_json()

    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


def test_email_filter_matches_whatever_the_case(contacts_api: RunningService) -> None:
    acme = new_workspace(contacts_api)
    ana = create_contact(contacts_api, acme, email="ana@example.com").get_json()
    create_contact(contacts_api, acme, name="Bob", email="bob@example.com")

    found = contacts_api.client.get("/v1/contacts?email=ANA@Example.com", headers=contacts_api.auth(acme))

    assert found.status_code == 200
    assert [item["id"] for item in found.get_json()["items"]] == [ana["id"]]


def test_email_filter_that_is_not_an_email_is_a_field_error(contacts_api: RunningService) -> None:
    acme = new_workspace(contacts_api)

    answer = contacts_api.client.get("/v1/contacts?email=not-an-email", headers=contacts_api.auth(acme))

    assert answer.status_code == 422
    assert problem_fields(answer.get_json()) == {"email": "invalid_email"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"email": "ana@"}, {"email": "invalid_email"}),
        ({"phone": "call me maybe"}, {"phone": "invalid_phone"}),
        ({"name": "   "}, {"name": "required"}),
        ({"email": "ana@", "phone": "12"}, {"email": "invalid_email", "phone": "invalid_phone"}),
    ],
)
def test_invalid_contact_is_a_problem_naming_each_bad_field(
    contacts_api: RunningService, fields: dict[str, str], expected: dict[str, str]
) -> None:
    acme = new_workspace(contacts_api)

    answer = create_contact(contacts_api, acme, **fields)

    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert problem["status"] == 422
    assert problem_fields(problem) == expected
    assert contacts_api.client.get("/v1/contacts", headers=contacts_api.auth(acme)).get_json()["items"] == []
    assert contact_events(contacts_api) == []


def test_empty_name_and_unknown_fields_are_refused_by_the_schema(contacts_api: RunningService) -> None:
    acme = new_workspace(contacts_api)

    answer = contacts_api.client.post(
        "/v1/contacts", json={"name": "", "nickname": "Anita"}, headers=contacts_api.auth(acme)
    )

    assert answer.status_code == 422
    fields = problem_fields(answer.get_json())
    assert fields["name"] == "string_too_short"
    assert fields["nickname"] == "extra_forbidden"


def test_another_workspace_cannot_see_the_contact(contacts_api: RunningService) -> None:
    acme = new_workspace(contacts_api, name="Acme")
    globex = new_workspace(contacts_api, name="Globex")
    contact = create_contact(contacts_api, acme).get_json()

    fetched = contacts_api.client.get(f"/v1/contacts/{contact['id']}", headers=contacts_api.auth(globex))
    listed = contacts_api.client.get("/v1/contacts", headers=contacts_api.auth(globex))
    by_email = contacts_api.client.get("/v1/contacts?email=ana@example.com", headers=contacts_api.auth(globex))

    assert fetched.status_code == 404
    assert fetched.mimetype == "application/problem+json"
    assert listed.get_json() == {"items": [], "next_cursor": None}
    assert by_email.get_json()["items"] == []


def test_unknown_or_malformed_contact_id_is_not_found(contacts_api: RunningService) -> None:
    acme = new_workspace(contacts_api)

    for contact_id in ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "not-a-uuid"):
        answer = contacts_api.client.get(f"/v1/contacts/{contact_id}", headers=contacts_api.auth(acme))
        assert answer.status_code == 404


def test_request_without_a_token_is_unauthenticated(contacts_api: RunningService) -> None:
    answer = contacts_api.client.get("/v1/contacts")

    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"


def test_creating_a_contact_writes_contact_created_to_the_outbox(contacts_api: RunningService) -> None:
    acme = new_workspace(contacts_api)

    contact = create_contact(contacts_api, acme, email="Ana@Example.com", phone="612345678").get_json()

    [event] = contact_events(contacts_api)
    assert (event.type, event.workspace_id, event.producer) == ("contacts.contact.created", acme, "contacts")
    payload = payload_of(event, contacts_pb2.ContactCreated)
    assert (payload.contact_id, payload.name, payload.email, payload.phone) == (
        contact["id"],
        "Ana López",
        "ana@example.com",
        "+34612345678",
    )
    assert payload.created_at.ToDatetime(tzinfo=UTC) == datetime.fromisoformat(contact["created_at"])


def test_contact_and_its_event_are_rolled_back_together_when_the_commit_fails(
    contacts_api: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = new_workspace(contacts_api)

    def commit_fails(uow: UnitOfWork) -> None:
        raise RuntimeError("the database went away before COMMIT")

    monkeypatch.setattr(UnitOfWork, "commit", commit_fails)
    answer = create_contact(contacts_api, acme)
    monkeypatch.undo()

    assert answer.status_code == 500
    assert answer.mimetype == "application/problem+json"
    assert contact_events(contacts_api) == []
    assert contacts_api.client.get("/v1/contacts", headers=contacts_api.auth(acme)).get_json()["items"] == []
