"""The HTTP edge every service shares: problem+json errors, request ids, probes, Idempotency-Key, cursors,
and workspace scoping, exercised through the contacts service's API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm_contacts.workspaces import service as workspaces
from crm_platform import auth
from crm_platform.service import Runtime
from crm_platform.web import PROBLEM_JSON

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


@pytest.fixture
def headers(rt: Runtime) -> dict[str, str]:
    """A bearer token for an agent of a workspace of its own, reading problems in English (the workspace's
    default languages put Spanish first; see test_problem_language.py)."""
    workspace = workspaces.create(rt.database.unit_of_work(), name=f"ws-{uuid.uuid4().hex[:6]}", default_region="ES")
    return {
        "Authorization": f"Bearer {auth.mint_for(rt.settings, workspace_id=workspace.id, user_id='u-1', role='agent')}",
        "Accept-Language": "en",
    }


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json(force=True)
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status and body["type"].startswith("urn:crm:problem:")
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


# problem+json ----------------------------------------------------------------------------------
def test_a_field_that_breaks_a_rule_answers_422_naming_the_field(client, headers) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/contacts", json={"name": ""}, headers=headers)

    body = problem_of(response, 422)
    assert body["type"] == "urn:crm:problem:invalid-input"
    assert body["instance"] == "/v1/contacts"
    assert body["errors"] == [
        {"field": "name", "message": "String should have at least 1 character", "code": "string_too_short"}
    ]


def test_a_domain_rule_violation_answers_422_with_the_field_details(client, headers) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/contacts", json={"name": "Ada", "email": "not-an-email"}, headers=headers)

    body = problem_of(response, 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("email", "invalid_email")]


def test_malformed_json_answers_422_about_the_body(client, headers) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/contacts", data="{not json", content_type="application/json", headers=headers)

    body = problem_of(response, 422)
    assert body["errors"] == [{"field": "body", "message": "the body is not valid JSON", "code": "json_invalid"}]


def test_an_unknown_field_answers_422_naming_it(client, headers) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/contacts", json={"name": "Ada", "nickname": "A"}, headers=headers)

    body = problem_of(response, 422)
    assert body["errors"] == [
        {"field": "nickname", "message": "Extra inputs are not permitted", "code": "extra_forbidden"}
    ]


def test_an_invalid_query_parameter_answers_422_naming_it(client, headers) -> None:  # type: ignore[no-untyped-def]
    body = problem_of(client.get("/v1/contacts?limit=0", headers=headers), 422)

    assert [e["field"] for e in body["errors"]] == ["limit"]


def test_an_unknown_route_answers_a_404_problem(client, headers) -> None:  # type: ignore[no-untyped-def]
    body = problem_of(client.get("/v1/contacts/a/b/c", headers=headers), 404)

    assert body["type"] == "urn:crm:problem:not-found"
    assert body["instance"] == "/v1/contacts/a/b/c"


def test_a_wrong_method_answers_a_405_problem(client, headers) -> None:  # type: ignore[no-untyped-def]
    body = problem_of(client.delete("/v1/contacts", headers=headers), 405)

    assert body["type"] == "urn:crm:problem:method-not-allowed"


def test_a_request_without_a_token_answers_a_401_problem(client) -> None:  # type: ignore[no-untyped-def]
    body = problem_of(client.get("/v1/contacts"), 401)

    assert body["type"] == "urn:crm:problem:unauthenticated"


@pytest.mark.parametrize("value", ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_a_bad_authorization_header_answers_a_401_problem(client, value: str) -> None:  # type: ignore[no-untyped-def]
    body = problem_of(client.get("/v1/contacts", headers={"Authorization": value}), 401)

    assert body["type"] == "urn:crm:problem:unauthenticated"


def test_a_token_of_a_workspace_that_does_not_exist_cannot_create(rt, client) -> None:  # type: ignore[no-untyped-def]
    token = auth.mint_for(rt.settings, workspace_id=str(uuid.uuid4()), user_id="u", role="admin")

    problem_of(client.post("/v1/contacts", json={"name": "Ada"}, headers={"Authorization": f"Bearer {token}"}), 401)


# request ids and probes ------------------------------------------------------------------------
def test_the_callers_request_id_is_echoed(client, headers) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/v1/contacts", headers={**headers, "X-Request-ID": "req-from-gateway-1"})

    assert response.headers["X-Request-ID"] == "req-from-gateway-1"


def test_a_request_id_is_made_up_when_the_caller_sends_none(client, headers) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/v1/contacts", headers=headers).headers["X-Request-ID"]
    second = client.get("/v1/contacts", headers=headers).headers["X-Request-ID"]

    assert first and second and first != second


def test_the_request_id_is_in_the_problem_of_a_failed_request(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/v1/contacts", headers={"X-Request-ID": "req-77"})

    assert problem_of(response, 401)["request_id"] == "req-77"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_and_metrics_answer_without_a_token(client, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path)

    assert response.status_code == 200
    assert response.get_data()


def test_metrics_count_the_requests_served(client, headers) -> None:  # type: ignore[no-untyped-def]
    client.get("/v1/contacts", headers=headers)

    text = client.get("/metrics").get_data(as_text=True)

    assert "crm_contacts_" in text and 'route="/v1/contacts"' in text


# Idempotency-Key -------------------------------------------------------------------------------
def test_repeating_a_post_with_the_same_idempotency_key_replays_the_first_answer(client, headers) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/v1/contacts", json={"name": "Ada"}, headers={**headers, **key})

    again = client.post("/v1/contacts", json={"name": "Ada"}, headers={**headers, **key})

    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert [c["name"] for c in client.get("/v1/contacts", headers=headers).get_json()["items"]] == ["Ada"]


def test_the_same_idempotency_key_with_a_different_body_is_refused(client, headers) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    client.post("/v1/contacts", json={"name": "Ada"}, headers={**headers, **key})

    response = client.post("/v1/contacts", json={"name": "Grace"}, headers={**headers, **key})

    body = problem_of(response, 422)
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert [c["name"] for c in client.get("/v1/contacts", headers=headers).get_json()["items"]] == ["Ada"]


def test_posts_without_an_idempotency_key_each_create(client, headers) -> None:  # type: ignore[no-untyped-def]
    client.post("/v1/contacts", json={"name": "Ada"}, headers=headers)
    client.post("/v1/contacts", json={"name": "Ada"}, headers=headers)

    assert len(client.get("/v1/contacts", headers=headers).get_json()["items"]) == 2


def test_idempotency_keys_of_two_workspaces_do_not_collide(rt, client, headers) -> None:  # type: ignore[no-untyped-def]
    other = workspaces.create(rt.database.unit_of_work(), name="other", default_region="ES")
    other_headers = {
        "Authorization": f"Bearer {auth.mint_for(rt.settings, workspace_id=other.id, user_id='u', role='agent')}"
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    mine = client.post("/v1/contacts", json={"name": "Ada"}, headers={**headers, **key})

    theirs = client.post("/v1/contacts", json={"name": "Ada"}, headers={**other_headers, **key})

    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["id"] != mine.get_json()["id"]


def test_a_failed_post_is_not_remembered_under_its_idempotency_key(client, headers) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    client.post("/v1/contacts", json={"name": "Ada", "email": "broken"}, headers={**headers, **key})

    retried = client.post("/v1/contacts", json={"name": "Ada", "email": "broken"}, headers={**headers, **key})

    assert retried.status_code == 422 and "Idempotent-Replayed" not in retried.headers


# cursors ---------------------------------------------------------------------------------------
def test_paging_with_the_returned_cursor_visits_every_contact_once(client, headers) -> None:  # type: ignore[no-untyped-def]
    for index in range(5):
        client.post("/v1/contacts", json={"name": f"Contact {index}"}, headers=headers)
    seen: list[str] = []
    cursor = None

    for _ in range(5):
        page = client.get(
            "/v1/contacts", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        body = page.get_json()
        seen += [c["name"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == [f"Contact {i}" for i in range(5)]


@pytest.mark.parametrize("garbage", ["%%%", "W10"])
def test_a_garbage_cursor_answers_a_422_problem(client, headers, garbage: str) -> None:  # type: ignore[no-untyped-def]
    body = problem_of(client.get("/v1/contacts", query_string={"cursor": garbage}, headers=headers), 422)

    assert body["errors"][0]["field"] == "cursor"


# workspace scoping -----------------------------------------------------------------------------
def test_another_workspaces_contact_answers_404_not_403_and_no_data(rt, client, headers) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/v1/contacts", json={"name": "Secret Ada", "email": "ada@example.com"}, headers=headers)
    contact_id = created.get_json()["id"]
    other = workspaces.create(rt.database.unit_of_work(), name="intruder", default_region="ES")
    intruder = {
        "Authorization": f"Bearer {auth.mint_for(rt.settings, workspace_id=other.id, user_id='x', role='admin')}"
    }

    response = client.get(f"/v1/contacts/{contact_id}", headers=intruder)
    listing = client.get("/v1/contacts", query_string={"email": "ada@example.com"}, headers=intruder)

    body = problem_of(response, 404)
    assert "Secret Ada" not in response.get_data(as_text=True)
    assert body["type"] == "urn:crm:problem:not-found"
    assert listing.get_json()["items"] == []
    assert client.get(f"/v1/contacts/{contact_id}", headers=headers).status_code == 200
