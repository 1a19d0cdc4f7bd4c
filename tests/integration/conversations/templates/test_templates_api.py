"""Message templates over HTTP: admins manage them, agents use them, unknown placeholders refused at save."""

from __future__ import annotations

from tests.factories import conversations
from tests.support.stack import ContactsPeer, RunningService, problem_fields

URL = "/v1/conversations/templates"


def test_admins_manage_templates_and_agents_only_read_them(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    admin, agent = conversations_api.auth(acme, role="admin"), conversations_api.auth(acme, user_id="ag", role="agent")
    client = conversations_api.client

    created = client.post(URL, json={"title": "Welcome", "body": "<p>Hi {{contact.first_name}}</p>"}, headers=admin)
    template = created.get_json()
    url = f"{URL}/{template['id']}"
    by_agent = client.post(URL, json={"title": "Mine", "body": "x"}, headers=agent)
    edit_by_agent = client.patch(url, json={"title": "Hijack"}, headers=agent)
    delete_by_agent = client.delete(url, headers=agent)
    edited = client.patch(url, json={"title": "Hello"}, headers={**admin, "If-Match": '"1"'})
    stale = client.patch(url, json={"title": "Again"}, headers={**admin, "If-Match": '"1"'})

    assert created.status_code == 201
    assert (template["placeholders"], template["version"]) == (["contact.first_name"], 1)
    assert [a.status_code for a in (by_agent, edit_by_agent, delete_by_agent)] == [403, 403, 403]
    assert (edited.status_code, edited.get_json()["title"], stale.status_code) == (200, "Hello", 412)
    assert [t["title"] for t in client.get(URL, headers=agent).get_json()["items"]] == ["Hello"]
    assert client.delete(url, headers=admin).status_code == 204
    assert client.get(url, headers=agent).status_code == 404


def test_unknown_placeholders_are_refused_at_save_with_each_named(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    admin = conversations_api.auth(acme)

    refused = conversations_api.client.post(
        URL, json={"title": "Bad", "body": "Hi {{contact.nick}} from {{company.name}}"}, headers=admin
    )
    unclosed = conversations_api.client.post(URL, json={"title": "Bad", "body": "Hi {{member.name"}, headers=admin)
    blank_title = conversations_api.client.post(URL, json={"title": "  ", "body": "Hi"}, headers=admin)

    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("body", "unknown_placeholder")] * 2
    assert "{{contact.nick}}" in errors[0]["message"] and "{{company.name}}" in errors[1]["message"]
    assert problem_fields(unclosed.get_json()) == {"body": "unclosed_placeholder"}
    assert problem_fields(blank_title.get_json()) == {"title": "required"}
    assert conversations_api.client.get(URL, headers=admin).get_json()["items"] == []


def test_a_template_is_filled_for_the_conversations_contact_and_the_member_and_used_as_a_message(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, globex = contacts_peer_service.workspace(name="Acme"), contacts_peer_service.workspace(name="Globex")
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    ana = contacts_peer_service.contact(acme, name="Ana López <3")
    agent = conversations_api.auth(acme, user_id=luis, role="agent")
    conversation = conversations.start(conversations_api, agent, ana).get_json()
    template = conversations_api.client.post(
        URL,
        json={"title": "Hi", "body": "<p>Hola {{contact.first_name}}, soy {{ member.name }}.</p>"},
        headers=conversations_api.auth(acme),
    ).get_json()
    fill = f"/v1/conversations/{conversation['id']}/templates/{template['id']}/fill"

    filled = conversations_api.client.post(fill, headers=agent)
    used = conversations_api.client.post(
        f"/v1/conversations/{conversation['id']}/messages", json={"template_id": template["id"]}, headers=agent
    )
    other_workspace = conversations_api.client.post(fill, headers=conversations_api.auth(globex))
    no_template = conversations_api.client.post(
        f"/v1/conversations/{conversation['id']}/messages", json={"template_id": "nope"}, headers=agent
    )

    assert filled.get_json()["body"] == "<p>Hola Ana, soy Luis Gil.</p>"
    assert (used.status_code, used.get_json()["text"]) == (201, "Hola Ana, soy Luis Gil.")
    assert other_workspace.status_code == 404
    assert no_template.status_code == 404
