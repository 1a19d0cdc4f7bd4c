"""Faults that must lose nothing: a broker that goes away, a worker that dies mid-delivery, poison
messages, and bad input anywhere."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pika
import pytest
import requests
from crm_devtools.devstack import Stack

from crm_platform import auth
from tests.e2e.conftest import make_stack, token_for, workspace_in_stack
from tests.e2e.flow import Client, assert_problem, eventually, mails
from tests.support import infra
from tests.support.proxy import TcpProxy


def _through(proxy: TcpProxy, url: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"))


@pytest.fixture(scope="module")
def proxy() -> Iterator[TcpProxy]:
    infra.require_rabbitmq()
    running = TcpProxy((infra.AMQP_HOST, infra.AMQP_PORT))
    yield running
    running.close()


@pytest.fixture(scope="module")
def proxied_stack(tmp_path_factory: pytest.TempPathFactory, vhost_url: str, proxy: TcpProxy) -> Iterator[Stack]:
    """The stack with RabbitMQ behind a proxy the test can cut."""
    with make_stack(tmp_path_factory.mktemp("proxied"), _through(proxy, vhost_url)) as running:
        yield running


def _ticket(me: Client, name: str, address: str) -> tuple[dict, dict]:
    contact = me.post("/v1/contacts", {"name": name, "email": address}).json()
    ticket = me.post("/v1/tickets", {"subject": f"Help for {name}", "contact_id": contact["id"]}).json()
    return contact, ticket


def test_api_keeps_taking_writes_while_the_broker_is_unreachable_and_every_event_arrives_later(
    proxied_stack: Stack, proxy: TcpProxy
) -> None:
    me = Client(proxied_stack.url, token_for(proxied_stack, workspace_in_stack(proxied_stack, "Outage Co")))
    before = me.get("/v1/reports/summary").json()
    proxy.cut()
    try:
        created = [
            me.post("/v1/contacts", {"name": f"Offline {i}", "email": f"offline{i}@example.com"}) for i in range(5)
        ]
        assert [r.status_code for r in created] == [201] * 5
        contact = created[0].json()
        ticket = me.post("/v1/tickets", {"subject": "Written while the broker is away", "contact_id": contact["id"]})
        assert ticket.status_code == 201, ticket.text
        comment = me.post(f"/v1/tickets/{ticket.json()['id']}/comments", {"body": "Still reaching you", "public": True})
        assert comment.status_code == 201
        time.sleep(3)
        assert me.get("/v1/reports/summary").json()["contacts_created"] == before["contacts_created"]
        assert not [m for m in mails(proxied_stack.maildir) if m["To"] == "offline0@example.com"]
    finally:
        proxy.restore()

    def everything_arrived() -> None:
        summary = me.get("/v1/reports/summary").json()
        assert summary["contacts_created"] - before["contacts_created"] == 5
        assert summary["tickets_opened"] - before["tickets_opened"] == 1
        assert summary["emails_delivered"] - before["emails_delivered"] == 1
        assert len([m for m in mails(proxied_stack.maildir) if m["To"] == "offline0@example.com"]) == 1

    eventually(everything_arrived, timeout=60)


def test_a_malformed_message_is_dead_lettered_after_the_delivery_limit_while_others_keep_flowing(
    proxied_stack: Stack, vhost_url: str
) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(vhost_url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(
        "crm.events",
        "tickets.comment.public_added",
        b"\x00garbage that is no envelope",
        pika.BasicProperties(message_id="poison-1", type="tickets.comment.public_added", delivery_mode=2),
        mandatory=True,
    )
    connection.close()

    me = Client(proxied_stack.url, token_for(proxied_stack, workspace_in_stack(proxied_stack, "Poison Co")))
    _contact, ticket = _ticket(me, "Bea Flow", "bea@example.com")
    assert (
        me.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Flows past the poison", "public": True}).status_code
        == 201
    )
    eventually(lambda: _assert_one_mail(proxied_stack.maildir, "bea@example.com"), timeout=30)

    def parked() -> str:
        listed = _deadletters(proxied_stack, "mailer")
        assert "poison-1" in listed, listed
        return listed

    listed = eventually(parked, timeout=30)
    assert "attempts=3" in listed and "PoisonMessage" in listed
    metrics = _worker_metrics(proxied_stack, "mailer")
    assert 'crm_mailer_events_dead_lettered_total{type="tickets.comment.public_added"} 1.0' in metrics


def _assert_one_mail(maildir: Path, address: str) -> None:
    assert len([m for m in mails(maildir) if m["To"] == address]) == 1


def _deadletters(stack: Stack, service: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "crm_platform.cli", "deadletters", "list", service],
        env=stack.env_for(service, "cli"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _worker_metrics(stack: Stack, service: str) -> str:
    from crm_devtools.devstack import ports

    url = f"http://127.0.0.1:{ports(stack.config, service)['worker_metrics']}/metrics"
    return requests.get(url, timeout=10).text


def test_a_worker_that_dies_after_commit_but_before_ack_recognises_the_redelivery_and_sends_the_email_once(
    tmp_path_factory: pytest.TempPathFactory, vhost_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "crashed"
    # The mailer also consumes contacts' events (its copy of contact ownership): crash on the comment's one.
    failpoint = f"consumer.after_commit=exit-once:{marker}@tickets.comment.public_added"
    crash = {("mailer", "worker"): {"CRM_FAILPOINTS": failpoint}}
    with (
        infra.fresh_vhost() as own_vhost,
        make_stack(tmp_path_factory.mktemp("crash"), own_vhost, process_env=crash) as stack,
    ):
        me = Client(stack.url, token_for(stack, workspace_in_stack(stack, "Crash Co")))
        _contact, ticket = _ticket(me, "Carl Once", "carl@example.com")
        assert (
            me.post(f"/v1/tickets/{ticket['id']}/comments", {"body": "Exactly once", "public": True}).status_code == 201
        )
        eventually(lambda: _assert_one_mail(stack.maildir, "carl@example.com"), timeout=60)
        assert marker.exists(), "the mailer worker never reached the failpoint"
        assert stack.process("mailer", "worker").restarts >= 1

        # The restarted worker got the event again and its event-id check (not the mailer's own unique
        # constraint, which would fail the handler into retries and a dead letter) acknowledged it.
        comment = 'type="tickets.comment.public_added"'

        def redelivery_recognised() -> None:
            try:
                exported = _worker_metrics(stack, "mailer")
            except requests.RequestException as exc:  # the worker is still restarting
                raise AssertionError(repr(exc)) from exc
            assert f"crm_mailer_events_duplicate_total{{{comment}}} 1.0" in exported, exported

        eventually(redelivery_recognised, timeout=30)
        time.sleep(3)  # a duplicate would be sent within this time
        exported = _worker_metrics(stack, "mailer")
        assert f"crm_mailer_events_retried_total{{{comment}}} 0.0" in exported
        assert f"crm_mailer_events_dead_lettered_total{{{comment}}} 0.0" in exported
        assert _deadletters(stack, "mailer").strip().endswith("0 dead-lettered event(s) in crm.mailer.dead")
        _assert_one_mail(stack.maildir, "carl@example.com")
        sent = me.get("/v1/mailer/messages", ticket_id=ticket["id"]).json()["items"]
        assert [m["status"] for m in sent] == ["sent"]


BAD_REQUESTS = [
    ("POST", "/v1/contacts", "{not json", 422),
    ("POST", "/v1/contacts", [], 422),
    ("POST", "/v1/contacts", {"name": 42}, 422),
    ("POST", "/v1/contacts", {"name": "X", "email": "nope"}, 422),
    ("POST", "/v1/contacts", {"name": "X", "phone": "call me"}, 422),
    ("POST", "/v1/contacts", {"name": "X", "unknown": 1}, 422),
    ("POST", "/v1/contacts", {"name": "   "}, 422),
    ("POST", "/v1/contacts", {"name": "X" * 5000}, 422),
    ("GET", "/v1/contacts?limit=100000", None, 422),
    ("GET", "/v1/contacts?cursor=%%%garbage", None, 422),
    ("GET", "/v1/contacts/not-a-uuid", None, 404),
    ("GET", "/v1/contacts/../../etc/passwd", None, 404),
    ("DELETE", "/v1/contacts", None, 405),
    ("POST", "/v1/tickets", {"subject": "S"}, 422),
    ("POST", "/v1/tickets", {"subject": "S", "contact_id": "not-a-uuid"}, 422),
    ("POST", "/v1/tickets", {"subject": "", "contact_id": "x"}, 422),
    ("POST", "/v1/tickets/01a2070b-0bfc-722f-90e0-d1830a840869/comments", {"body": "x", "public": True}, 404),
    ("POST", "/v1/tickets/whatever/comments", {"body": "x", "public": "maybe"}, 422),
    ("POST", "/v1/conversations", {"contact_id": "01a2070b-0bfc-722f-90e0-d1830a840869", "subject": "S"}, 422),
    ("POST", "/v1/conversations/nope/messages", {"body": "x"}, 404),
    ("GET", "/v1/reports/summary?from=yesterday", None, 422),
    ("GET", "/v1/reports/summary?from=2026-02-01&to=2026-01-01", None, 422),
    ("GET", "/v1/mailer/messages/nope", None, 404),
    ("GET", "/v1/nowhere", None, 404),
    # the shared input checks, in every service: nesting, NUL bytes (PostgreSQL cannot store them), lengths
    ("POST", "/v1/contacts", "[" * 1000 + "]" * 1000, 422),
    ("POST", "/v1/tickets", '{"a":' * 1000 + "1" + "}" * 1000, 422),
    ("POST", "/v1/conversations", {"contact_id": "x", "subject": "S", "tags": list(range(30_000))}, 422),
    ("POST", "/v1/contacts", {"name": "Ana\u0000Ruiz"}, 422),
    ("POST", "/v1/tickets", {"subject": "S\u0000", "contact_id": "x"}, 422),
    ("GET", "/v1/contacts?name=Ana%00", None, 422),
    ("GET", "/v1/tickets?contact_id=%00", None, 422),
    ("GET", "/v1/mailer/messages?ticket_id=%00", None, 422),
    ("GET", "/v1/conversations/a%00b", None, 422),
    ("GET", "/v1/reports/summary?from=%00", None, 422),
    ("GET", "/v1/contacts?name=" + "a" * 2001, None, 422),
]


@pytest.mark.parametrize("method,path,body,status", BAD_REQUESTS, ids=[f"{m} {p} {s}" for m, p, _b, s in BAD_REQUESTS])
def test_bad_input_gets_a_problem_with_details_never_a_500(proxied_stack: Stack, method, path, body, status) -> None:  # type: ignore[no-untyped-def]
    token = token_for(proxied_stack, workspace_in_stack(proxied_stack, "Bad Input Co"))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = body if isinstance(body, str) else (None if body is None else __import__("json").dumps(body))
    response = requests.request(method, proxied_stack.url + path, data=data, headers=headers, timeout=30)
    problem = assert_problem(response, status)
    if status == 422:
        assert problem["errors"] and all({"field", "message", "code"} <= set(e) for e in problem["errors"]), problem


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer garbage", "Basic dXNlcjpwYXNz", "Bearer {expired}", "Bearer {wrong_secret}"],
)
def test_requests_without_a_valid_token_get_401(proxied_stack: Stack, authorization: str) -> None:
    import jwt

    expired = jwt.encode({"sub": "u", "workspace_id": "w", "role": "admin", "exp": 1}, proxied_stack.config.jwt_secret)
    wrong = auth.mint(
        secret="another-secret-of-at-least-32-bytes!!", production=False, workspace_id="w", user_id="u", role="admin"
    )
    headers = {"Authorization": authorization.format(expired=expired, wrong_secret=wrong)} if authorization else {}
    assert_problem(requests.get(proxied_stack.url + "/v1/contacts", headers=headers, timeout=10), 401)
