"""Visitors over the widget's public API: CORS only for the inbox's origins, an anonymous chat an agent answers,
identities vouched for with the inbox's HMAC (a wrong one refused), strict mode, the pre-chat form, blocked
contacts, rate limits, files, and tokens that name one chat only."""

from __future__ import annotations

from crm.events.v1 import conversations_pb2
from crm_platform.events import payload_of
from tests.factories import conversations, widget
from tests.support.stack import ContactsPeer, RunningService, problem_fields

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_only_the_inboxs_origins_get_cors_answers(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    inbox = widget.inbox(widget_api, acme)
    config = f"/v1/conversations/widget/{inbox['id']}/config"

    allowed = widget_api.client.get(config, headers={"Origin": widget.SITE})
    preflight = widget_api.client.options(
        f"/v1/conversations/widget/{inbox['id']}/messages",
        headers={"Origin": widget.SITE, "Access-Control-Request-Method": "POST"},
    )
    refused = widget_api.client.get(config, headers={"Origin": "https://evil.example"})
    no_origin = widget_api.client.get(config)

    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == widget.SITE and "Origin" in allowed.headers["Vary"]
    assert allowed.get_json()["welcome_text"] == "Hi! Ask us anything." and "secret" not in allowed.get_json()
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == widget.SITE
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    assert problem_fields(refused.get_json()) == {"Origin": "origin_refused"}
    assert no_origin.status_code == 403


def test_the_widgets_own_words_come_in_the_visitors_language_and_the_inboxs_words_as_written(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    inbox = widget.inbox(widget_api, acme)
    config = f"/v1/conversations/widget/{inbox['id']}/config"

    spanish = widget_api.client.get(config, headers={"Origin": widget.SITE, "Accept-Language": "es-ES,es;q=0.9"})
    english = widget_api.client.get(config, headers={"Origin": widget.SITE, "Accept-Language": "en-GB"})
    unknown = widget_api.client.get(config, headers={"Origin": widget.SITE, "Accept-Language": "fi"})

    assert spanish.status_code == 200 and spanish.headers["Content-Language"] == "es"
    assert "Accept-Language" in spanish.headers["Vary"]
    assert spanish.get_json()["language"] == "es"
    assert spanish.get_json()["texts"]["send"] == "Enviar"
    assert spanish.get_json()["texts"]["name"] == "Tu nombre"
    assert spanish.get_json()["welcome_text"] == "Hi! Ask us anything."  # the workspace's own words, as written
    assert english.get_json()["texts"]["send"] == "Send" and english.headers["Content-Language"] == "en"
    assert unknown.get_json()["language"] == "en" and unknown.get_json()["texts"]["start"] == "Start chat"
    assert set(spanish.get_json()["texts"]) == set(english.get_json()["texts"])


def test_an_anonymous_visitors_message_reaches_the_agents_and_the_answer_comes_back_with_the_members_name(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    inbox = widget.inbox(widget_api, acme)
    started = widget.start(widget_api, inbox["id"], {"name": "Eva"})
    token = started.get_json()["token"]

    sent = widget.say(widget_api, inbox["id"], token)
    agent = widget_api.auth(acme, user_id=luis, role="agent")
    conversation_id = started.get_json()["conversation_id"]
    seen = widget_api.client.get(f"/v1/conversations/{conversation_id}/messages", headers=agent).get_json()["items"]
    conversations.say(widget_api, agent, conversation_id, "Yes, it left this morning.")
    widget_api.client.post(
        f"/v1/conversations/{conversation_id}/messages", json={"body": "VIP?", "note": True}, headers=agent
    )

    assert started.status_code == 201 and sent.status_code == 201
    assert [(m["direction"], m["channel"], m["author_type"], m["text"]) for m in seen] == [
        ("inbound", "web_chat", "visitor", "Hello, is my order shipped?")
    ]
    shown = widget.history(widget_api, inbox["id"], token)
    assert [(m["direction"], m["author_name"], m["text"]) for m in shown] == [
        ("inbound", None, "Hello, is my order shipped?"),
        ("outbound", "Luis Gil", "Yes, it left this morning."),
    ]  # the private note is not the visitor's to see
    after = widget_api.client.get(
        f"/v1/conversations/widget/{inbox['id']}/messages?after={shown[0]['id']}", headers=widget.visitor(token)
    ).get_json()["items"]
    assert [m["text"] for m in after] == ["Yes, it left this morning."]
    added = [
        payload_of(e, conversations_pb2.ConversationMessageAdded)
        for e in widget_api.outbox("conversations.message.added")
    ]
    assert next((e.direction, e.channel, e.author_type) for e in added) == ("inbound", "web_chat", "visitor")
    conversation = widget_api.client.get(f"/v1/conversations/{conversation_id}", headers=agent).get_json()
    assert (conversation["channel"], conversation["subject"]) == ("web_chat", "Shop: Eva")
    assert conversation["contact"]["name"] == "Eva"  # found by the lists' search


def test_a_verified_identity_ties_the_chat_to_its_contact_and_a_wrong_hash_is_refused(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, email="ana@example.com")
    inbox = widget.inbox(widget_api, acme, strict=True)
    identity = {"user_id": "u-42", "email": "ANA@example.com", "name": "Ana"}

    verified = widget.start(
        widget_api, inbox["id"], {"identity": {**identity, "user_hash": widget.signed(inbox["secret"], "u-42")}}
    )
    forged = widget.start(
        widget_api, inbox["id"], {"identity": {**identity, "user_hash": widget.signed("not the secret", "u-42")}}
    )
    other_user = widget.start(
        widget_api,
        inbox["id"],
        {"identity": {**identity, "user_id": "u-43", "user_hash": widget.signed(inbox["secret"], "u-42")}},
    )

    assert verified.status_code == 201, verified.get_json()
    conversation = widget_api.client.get(
        f"/v1/conversations/{verified.get_json()['conversation_id']}", headers=widget_api.auth(acme)
    ).get_json()
    assert conversation["contact_id"] == ana
    assert widget.say(widget_api, inbox["id"], verified.get_json()["token"]).status_code == 201
    assert widget.history(widget_api, inbox["id"], verified.get_json()["token"])[0]["author_type"] == "contact"
    for refused in (forged, other_user):
        assert refused.status_code == 403
        assert problem_fields(refused.get_json()) == {"identity.user_hash": "identity_mismatch"}
    assert len(widget_api.outbox("conversations.conversation.started")) == 1


def test_strict_mode_refuses_anonymous_visitors_and_the_prechat_form_asks_name_and_email(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    strict = widget.inbox(widget_api, acme, strict=True)
    form = widget.inbox(widget_api, acme, prechat_form=True)

    anonymous = widget.start(widget_api, strict["id"], {"name": "Eva", "email": "eva@example.com"})
    empty_form = widget.start(widget_api, form["id"], {"name": "Eva"})
    filled = widget.start(widget_api, form["id"], {"name": "Eva Sanz", "email": "Eva@Example.com"})

    assert anonymous.status_code == 403 and problem_fields(anonymous.get_json()) == {"identity": "identity_required"}
    assert empty_form.status_code == 422 and problem_fields(empty_form.get_json()) == {"email": "required"}
    assert filled.status_code == 201
    conversation = widget_api.client.get(
        f"/v1/conversations/{filled.get_json()['conversation_id']}", headers=widget_api.auth(acme)
    ).get_json()
    assert conversation["contact"] == {"name": "Eva Sanz", "email": "eva@example.com", "phone": None}


def test_a_blocked_contacts_chat_is_not_received(
    widget_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    from crm_contacts.contacts import service as contacts
    from tests.factories import platform

    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, email="ana@example.com")
    inbox = widget.inbox(widget_api, acme, prechat_form=True)
    started = widget.start(widget_api, inbox["id"], {"name": "Ana", "email": "ana@example.com"}).get_json()
    contacts.set_blocked(
        contacts_peer_service.rt.database.unit_of_work(), caller=platform.admin(acme), contact_id=ana, blocked=True
    )

    sent = widget.say(widget_api, inbox["id"], started["token"])
    again = widget.start(widget_api, inbox["id"], {"name": "Ana", "email": "ana@example.com"})

    assert sent.status_code == 403 and problem_fields(sent.get_json()) == {"visitor": "blocked"}
    assert again.status_code == 403
    assert widget_api.outbox("conversations.message.added") == []
    assert len(widget_api.outbox("conversations.conversation.started")) == 1


def test_tokens_name_one_chat_of_one_inbox(widget_api: RunningService, contacts_peer_service: ContactsPeer) -> None:
    acme, globex = contacts_peer_service.workspace(), contacts_peer_service.workspace(name="Globex")
    ours = widget.inbox(widget_api, acme)
    theirs = widget.inbox(widget_api, globex)
    token = widget.start(widget_api, ours["id"]).get_json()["token"]
    payload_start = token.index(".") + 1

    on_their_inbox = widget.say(widget_api, theirs["id"], token)
    tampered = widget.say(widget_api, ours["id"], token[:payload_start] + "x" + token[payload_start + 1 :])
    none = widget_api.client.get(f"/v1/conversations/widget/{ours['id']}/messages", headers={"Origin": widget.SITE})
    renewed = widget_api.client.post(
        f"/v1/conversations/widget/{ours['id']}/sessions/renew", headers=widget.visitor(token)
    )

    assert on_their_inbox.status_code == 404
    assert tampered.status_code == 401 and none.status_code == 401
    assert renewed.status_code == 200
    assert widget.say(widget_api, ours["id"], renewed.get_json()["token"]).status_code == 201


def test_a_visitor_over_its_rate_is_answered_429_with_retry_after_and_so_is_a_busy_inbox(
    limited_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    inbox = widget.inbox(limited_api, acme)
    token = widget.start(limited_api, inbox["id"]).get_json()["token"]  # the address' first request

    answers = [widget.say(limited_api, inbox["id"], token).status_code for _ in range(4)]
    refused = widget.say(limited_api, inbox["id"], token)
    fifth = widget.start(limited_api, inbox["id"])  # the inbox's fifth counted request (the address' second)
    sixth = widget.start(limited_api, inbox["id"])

    assert answers == [201, 201, 201, 429]  # a refused request uses up nothing
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "visitor" in refused.get_json()["detail"]
    assert refused.headers["Access-Control-Allow-Origin"] == widget.SITE  # the page can read why
    assert fifth.status_code == 201
    assert sixth.status_code == 429 and "inbox" in sixth.get_json()["detail"]
