"""Website inboxes over the admin API: admins write, the secret is shown once and rotates, the snippet is one
script tag, and another workspace's inbox is not found."""

from __future__ import annotations

from tests.factories import widget
from tests.support.stack import ContactsPeer, RunningService, problem_fields


def test_an_admin_creates_an_inbox_whose_secret_is_shown_once_and_rotates(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    created = widget.inbox(
        widget_api, acme, allowed_origins=["https://Shop.Example.com:443/", "http://localhost:8080"], strict=True
    )
    url = f"/v1/conversations/inboxes/{created['id']}"

    fetched = widget_api.client.get(url, headers=widget_api.auth(acme, role="agent"))
    listed = widget_api.client.get("/v1/conversations/inboxes", headers=widget_api.auth(acme)).get_json()
    rotated = widget_api.client.patch(
        url, json={"rotate_secret": True, "primary_colour": "#AA0000"}, headers=widget_api.auth(acme)
    )

    assert len(created["secret"]) == 64
    assert created["allowed_origins"] == ["https://shop.example.com", "http://localhost:8080"]
    assert (created["strict"], created["prechat_form"]) == (True, False)
    assert fetched.status_code == 200 and "secret" not in fetched.get_json()
    assert [item["id"] for item in listed["items"]] == [created["id"]] and "secret" not in listed["items"][0]
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"] not in (None, created["secret"])
    assert (rotated.get_json()["primary_colour"], rotated.get_json()["version"]) == ("#aa0000", 2)


def test_only_admins_write_inboxes_and_bad_fields_are_named(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    agent = widget_api.auth(acme, role="agent")
    inbox = widget.inbox(widget_api, acme)
    url = f"/v1/conversations/inboxes/{inbox['id']}"

    assert widget_api.client.post("/v1/conversations/inboxes", json={"name": "X"}, headers=agent).status_code == 403
    assert widget_api.client.patch(url, json={"name": "X"}, headers=agent).status_code == 403
    assert widget_api.client.delete(url, headers=agent).status_code == 403
    bad = widget_api.client.post(
        "/v1/conversations/inboxes",
        json={"name": "X", "allowed_origins": ["https://ok.example", "*.example.com"], "text_colour": "red"},
        headers=widget_api.auth(acme),
    )
    assert bad.status_code == 422
    assert problem_fields(bad.get_json()) == {"allowed_origins.1": "invalid_origin"}


def test_the_snippet_is_one_script_tag_naming_the_inbox(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    inbox = widget.inbox(widget_api, acme)

    snippet = widget_api.client.get(
        f"/v1/conversations/inboxes/{inbox['id']}/snippet", headers=widget_api.auth(acme, role="agent")
    ).get_json()
    script = widget_api.client.get("/v1/conversations/widget.js")

    assert snippet["html"] == (
        f'<script src="http://localhost/v1/conversations/widget.js" data-inbox="{inbox["id"]}" async></script>'
    )
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert b"data-inbox" in script.data and b"/v1/conversations/widget/" in script.data


def test_another_workspaces_inbox_is_not_found(widget_api: RunningService, contacts_peer_service: ContactsPeer) -> None:
    acme, globex = contacts_peer_service.workspace(), contacts_peer_service.workspace(name="Globex")
    inbox = widget.inbox(widget_api, acme)
    url = f"/v1/conversations/inboxes/{inbox['id']}"
    theirs = widget_api.auth(globex)

    assert widget_api.client.get(url, headers=theirs).status_code == 404
    assert widget_api.client.patch(url, json={"name": "Mine"}, headers=theirs).status_code == 404
    assert widget_api.client.delete(url, headers=theirs).status_code == 404
    assert widget_api.client.get(f"{url}/snippet", headers=theirs).status_code == 404
    assert widget_api.client.get("/v1/conversations/inboxes", headers=theirs).get_json()["items"] == []
    assert widget_api.client.delete(url, headers=widget_api.auth(acme)).status_code == 204
    assert (
        widget_api.client.get(
            f"/v1/conversations/widget/{inbox['id']}/config", headers={"Origin": widget.SITE}
        ).status_code
        == 404
    )
