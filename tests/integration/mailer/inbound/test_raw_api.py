"""The raw-message endpoints: a relay posts a message for its workspace; the stored original is downloaded back,
only by the workspace it was for."""

from __future__ import annotations

from crm.events.v1 import mailer_pb2
from crm_events.mailer import INBOUND_RECEIVED
from crm_platform.events import payload_of

from .conftest import Inbound, crlf, fixture

REPLY = crlf(fixture("gmail_es_reply.eml"))


def test_a_posted_raw_message_is_stored_routed_and_downloadable_byte_for_byte(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    api = inbound.mailer

    posted = api.client.post(
        "/v1/mailer/inbound", data=REPLY, content_type="message/rfc822", headers=api.auth(acme, role="admin")
    )
    answer = posted.get_json()
    raw = api.client.get(f"/v1/mailer/inbound/{answer['id']}/raw", headers=api.auth(acme, role="agent"))

    assert posted.status_code == 202, answer
    assert (answer["status"], answer["kind"], answer["route_target"]) == ("routed", "person", "new_conversation")
    assert posted.headers["Location"] == f"/v1/mailer/inbound/{answer['id']}/raw"
    assert raw.status_code == 200
    assert raw.mimetype == "message/rfc822"
    assert raw.data == REPLY
    [event] = api.outbox(INBOUND_RECEIVED.name)
    assert payload_of(event, mailer_pb2.InboundReceived).raw_url == f"/v1/mailer/inbound/{answer['id']}/raw"


def test_the_raw_endpoints_need_a_token(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    stored = inbound.send(REPLY, to=inbound.address(acme))

    client = inbound.mailer.client
    assert client.get(f"/v1/mailer/inbound/{stored}/raw").status_code == 401
    assert client.post("/v1/mailer/inbound", data=REPLY, content_type="message/rfc822").status_code == 401


def test_another_workspaces_message_is_not_found(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    other = inbound.contacts.workspace(name="Other")
    stored = inbound.send(REPLY, to=inbound.address(acme))
    inbound.processed(stored)

    answer = inbound.mailer.client.get(f"/v1/mailer/inbound/{stored}/raw", headers=inbound.mailer.auth(other))

    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"


def test_only_admins_post_raw_mail_and_only_as_a_message(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    api = inbound.mailer

    as_agent = api.client.post(
        "/v1/mailer/inbound", data=REPLY, content_type="message/rfc822", headers=api.auth(acme, role="agent")
    )
    as_json = api.client.post("/v1/mailer/inbound", json={"raw": "x"}, headers=api.auth(acme))
    empty = api.client.post("/v1/mailer/inbound", data=b"", content_type="message/rfc822", headers=api.auth(acme))
    too_big = api.client.post(
        "/v1/mailer/inbound", data=b"a" * 300_000, content_type="message/rfc822", headers=api.auth(acme)
    )

    assert as_agent.status_code == 403
    assert (as_json.status_code, as_json.get_json()["errors"][0]["code"]) == (422, "unsupported_media_type")
    assert (empty.status_code, empty.get_json()["errors"][0]["code"]) == (422, "empty")
    assert too_big.status_code == 413
    assert api.outbox(INBOUND_RECEIVED.name) == []
