"""The shared input checks every service's app runs before its views: nesting, members, NUL bytes, lengths,
file fields, and the workspace a token names (its cache)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm_contacts.workspaces import service as workspaces
from crm_platform import auth, inputs
from crm_platform.errors import InvalidInput, Unavailable
from crm_platform.service import Runtime
from crm_platform.web import PROBLEM_JSON
from crm_platform.workspaces import KNOWN_SECONDS, UNKNOWN_SECONDS, WorkspaceCheck


@pytest.fixture(scope="module")
def headers(rt: Runtime) -> dict[str, str]:
    workspace = workspaces.create(rt.database.unit_of_work(), name="Inputs", default_region="ES")
    token = auth.mint_for(rt.settings, workspace_id=workspace.id, user_id="u-1", role="admin")
    return {"Authorization": f"Bearer {token}"}


def refused(response: Any) -> list[tuple[str, str]]:
    assert (response.status_code, response.mimetype) == (422, PROBLEM_JSON), response.get_data(as_text=True)
    return [(e["field"], e["code"]) for e in json.loads(response.get_data())["errors"]]


def nested(depth: int) -> str:
    return '{"a":' * (depth - 1) + "[]" + "}" * (depth - 1)


def test_nesting_up_to_the_limit_parses_and_one_more_level_is_refused() -> None:
    assert inputs.parse_json(nested(inputs.MAX_JSON_DEPTH)) is not None
    with pytest.raises(InvalidInput) as refusal:
        inputs.parse_json(nested(inputs.MAX_JSON_DEPTH + 1))
    assert refusal.value.errors[0].code == "too_deep"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"note": "[" * 500 + '\\"{' * 100})

    assert inputs.parse_json(text) == json.loads(text)


def test_json_nested_a_thousand_deep_is_a_422_on_the_body_not_a_recursion_error(client, headers) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/v1/contacts", data="[" * 1000 + "]" * 1000, headers=headers, content_type="application/json"
    )

    assert refused(response) == [("body", "too_deep")]


def test_a_body_with_too_many_members_is_refused(client, headers) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "Ana", "tags": ["t"] * (inputs.MAX_JSON_MEMBERS + 1)}

    assert refused(client.post("/v1/contacts", json=body, headers=headers)) == [("body", "too_many_members")]


@pytest.mark.parametrize(
    "request_args",
    [
        {"path": "/v1/contacts", "method": "POST", "json": {"name": "Ana\x00"}},
        {"path": "/v1/contacts", "method": "POST", "json": {"name": "Ana", "tags": ["ok", "b\x00d"]}},
        {"path": "/v1/contacts", "method": "POST", "json": {"name": "Ana", "cf": {"k\x00": 1}}},
        {"path": "/v1/contacts?name=a%00b", "method": "GET"},
        {"path": "/v1/contacts/abc%00def", "method": "GET"},
        {"path": "/v1/contacts/sources/x%00/icon", "method": "GET"},
        {"path": "/v1/contacts/sources", "method": "POST", "json": {}, "headers": {"Idempotency-Key": "k\x00"}},
    ],
    ids=["body", "list item", "key", "query", "path", "nested path", "header"],
)
def test_a_nul_character_anywhere_is_a_422_naming_where(client, headers, request_args) -> None:  # type: ignore[no-untyped-def]
    response = client.open(headers={**headers, **request_args.pop("headers", {})}, **request_args)

    assert [code for _field, code in refused(response)] == ["nul_character"]


def test_over_long_query_and_body_strings_are_refused(client, headers) -> None:  # type: ignore[no-untyped-def]
    long_query = client.get("/v1/contacts", query_string={"name": "a" * 60_000}, headers=headers)
    long_body = client.post(
        "/v1/contacts/x/notes", json={"body": "a" * (inputs.MAX_BODY_STRING_CHARS + 1)}, headers=headers
    )

    assert refused(long_query) == [("query.name", "too_long")]
    assert refused(long_body) == [("body", "too_long")]


def test_parameters_at_the_limit_pass_the_shared_check(client, headers) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/v1/contacts", query_string={"q": "a" * inputs.MAX_PARAMETER_CHARS}, headers=headers)

    assert response.status_code != 422 or ("query.q", "too_long") not in refused(response)


def test_a_plain_field_where_a_file_belongs_is_a_422_on_that_field(client, headers) -> None:  # type: ignore[no-untyped-def]
    source = client.post("/v1/contacts/sources", json={"name_es": "Feria", "name_en": "Fair"}, headers=headers).json

    icon = client.put(f"/v1/contacts/sources/{source['id']}/icon", data={"icon": "plain"}, headers=headers)
    upload = client.post("/v1/contacts/imports", data={"file": "name\nAna"}, headers=headers)

    assert [field for field, _code in refused(icon)] == ["icon"]
    assert [field for field, _code in refused(upload)] == ["file"]


def test_a_token_for_a_workspace_that_does_not_exist_is_a_401_on_every_write(rt, client) -> None:  # type: ignore[no-untyped-def]
    ghost = {"Authorization": f"Bearer {auth.mint_for(rt.settings, workspace_id='ghost', user_id='u', role='admin')}"}
    for path, body in (
        ("/v1/contacts/types", {"name": "Partner"}),
        ("/v1/contacts/sources", {"name_es": "Feria", "name_en": "Fair"}),
        ("/v1/contacts/members", {"name": "Ana", "email": "ana@example.com", "role": "agent"}),
    ):
        response = client.post(path, json=body, headers=ghost)
        assert (response.status_code, response.mimetype) == (401, PROBLEM_JSON), response.get_data(as_text=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_workspace_check_caches_known_workspaces_long_and_unknown_ones_briefly() -> None:
    asked: list[str] = []
    existing = {"w1"}
    clock = Clock()
    check = WorkspaceCheck(lambda w: asked.append(w) or w in existing, clock=clock)

    assert (check.exists("w1"), check.exists("w1"), check.exists("w2"), check.exists("w2")) == (
        True,
        True,
        False,
        False,
    )
    assert asked == ["w1", "w2"]
    existing.add("w2")
    clock.now += UNKNOWN_SECONDS + 1
    assert check.exists("w2") and asked == ["w1", "w2", "w2"]
    clock.now += KNOWN_SECONDS + 1
    check.exists("w1")
    assert asked[-1] == "w1"


def test_the_workspace_check_serves_the_request_when_contacts_cannot_be_asked() -> None:
    def unreachable(_workspace_id: str) -> bool:
        raise Unavailable("contacts GetWorkspace: UNAVAILABLE")

    assert WorkspaceCheck(unreachable).exists("w1") is True


def test_json_nested_too_deep_inside_a_cursor_or_a_mapping_is_a_422(client, headers) -> None:  # type: ignore[no-untyped-def]
    import base64

    deep_cursor = base64.urlsafe_b64encode(b"[" * 740 + b"]" * 740).decode()  # within the length cap
    cursor = client.get("/v1/contacts", query_string={"cursor": deep_cursor}, headers=headers)
    tickets_cursor = client.get("/v1/contacts/tasks", query_string={"cursor": deep_cursor}, headers=headers)
    mapping = client.post(
        "/v1/contacts/imports", query_string={"mapping": "[" * 990 + "]" * 990}, data={}, headers=headers
    )

    assert [code for _f, code in refused(cursor)] == ["invalid"]
    assert tickets_cursor.status_code == 422
    assert mapping.status_code == 422


def test_a_bulk_of_the_most_ids_it_accepts_passes_the_member_limit() -> None:
    from crm_contacts.bulk.rules import MAX_IDS

    body = {"action": "set_tags", "value": ["vip"], "ids": [f"id-{n}" for n in range(MAX_IDS)]}

    assert inputs.parse_json(json.dumps(body)) == body
