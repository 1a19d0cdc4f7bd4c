"""Tickets by mail in microservices mode: a public comment reaches the SMTP server on loopback, the contact's
client-shaped reply goes back through real SMTP into the mailer's listener and lands on the ticket, which
opens again; a private note never leaves, an out-of-office changes nothing, a closed ticket reopens (the
default follow-up choice), and another workspace sees none of it. One stack for the whole module."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import time
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from crm_devtools import devstack

from tests.e2e.conftest import token_for, workspace_in_stack
from tests.e2e.flow import Client, assert_problem, eventually, mails, text_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
pytestmark = pytest.mark.timeout(300)


def listener(stack: devstack.Stack) -> tuple[str, int]:
    return "127.0.0.1", devstack.ports(stack.config, "mailer")["smtp"]


def send(stack: devstack.Stack, mail: EmailMessage | Message) -> str:
    """Through real SMTP into the mailer's listener; the stored message's id (its 250 answer)."""
    host, port = listener(stack)
    recipient = parseaddr(str(mail["To"]))[1]
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.ehlo("mx.example.com")
        client.mail(parseaddr(str(mail["From"]))[1])
        assert client.rcpt(recipient)[0] == 250
        code, answer = client.data(mail.as_bytes(policy=policy.SMTP))
        assert code == 250, answer
    return answer.decode().rsplit(" ", 1)[-1]


def from_corpus(name: str, original: Message, *, sender: str) -> EmailMessage:
    """A message of the corpus (a real client's shape) re-addressed as an answer to ``original``."""
    mail = message_from_bytes((FIXTURES / name).read_bytes(), policy=policy.default)
    for header in (
        "From",
        "To",
        "Subject",
        "In-Reply-To",
        "References",
        "Message-ID",
        "Authentication-Results",
        "DKIM-Signature",
        "Received",
        "Delivered-To",
        "Return-Path",
    ):
        del mail[header]
    mail["From"] = sender
    mail["To"] = str(original["Reply-To"])
    mail["Subject"] = f"RE: {original['Subject']}"
    mail["Message-ID"] = f"<{time.time_ns()}@example.com>"
    mail["In-Reply-To"] = str(original["Message-ID"])
    mail["References"] = str(original["Message-ID"])
    return mail  # type: ignore[return-value]


def inbound_kind(stack: devstack.Stack, inbound_id: str) -> str:
    engine = sa.create_engine(stack.database_url("mailer"))
    try:
        with engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT status, kind FROM inbound_messages WHERE id = :id"), {"id": inbound_id}
            ).first()
    finally:
        engine.dispose()
    assert row is not None and row.status != "stored", row
    return str(row.kind)


def close_ticket(stack: devstack.Stack, ticket_id: str) -> None:
    """The ticket closed in the tickets database (closing over HTTP is the ticket PATCH's, another change's)."""
    engine = sa.create_engine(stack.database_url("tickets"))
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE tickets SET status = 'closed', closed_at = now(), solved_at = now() WHERE id = :id"),
                {"id": ticket_id},
            )
    finally:
        engine.dispose()


def test_a_ticket_by_mail_and_back(stack: devstack.Stack) -> None:
    me = Client(stack.url, token_for(stack, workspace_in_stack(stack, "Acme")))
    stranger = Client(stack.url, token_for(stack, workspace_in_stack(stack, "Globex")))
    contact = me.post("/v1/contacts", {"name": "Ana Ruiz", "email": "ana.mail@example.com"}).json()
    ticket = me.post("/v1/tickets", {"subject": "Printer on fire", "contact_id": contact["id"]}).json()
    path = f"/v1/tickets/{ticket['id']}"

    note = me.post(f"{path}/comments", {"body": "Angry customer; SECRET-NOTE", "public": False})
    public = me.post(f"{path}/comments", {"body": "We are sending a technician today.", "public": True})
    assert note.status_code == public.status_code == 201, (note.text, public.text)

    def mailed() -> Message:
        found = [m for m in mails(stack.maildir) if m["To"] == "ana.mail@example.com"]
        assert len(found) == 1, [m["Subject"] for m in mails(stack.maildir)]
        return found[0]

    original = eventually(mailed)
    assert original["Subject"] == f"[#{ticket['number']}] Printer on fire"
    assert "We are sending a technician today." in text_of(original)
    assert not any("SECRET-NOTE" in text_of(m) for m in mails(stack.maildir))

    def delivered() -> None:
        items = me.get(f"{path}/comments").json()["items"]
        assert [(c["visibility"], (c["delivery"] or {}).get("status")) for c in items] == [
            ("private", None),
            ("public", "sent"),
        ]

    eventually(delivered)
    assert me.get(path).json()["status"] == "pending"  # the agent answered

    # An out-of-office (Outlook's) is kept by the mailer and changes nothing on the ticket.
    away = send(stack, from_corpus("outlook_es_out_of_office.eml", original, sender="ana.mail@example.com"))
    assert eventually(lambda: inbound_kind(stack, away)) != "person"

    # The contact answers from Gmail: the reply lands on the ticket, quoted history folded away.
    send(stack, from_corpus("gmail_en_reply.eml", original, sender="Ana Ruiz <ana.mail@example.com>"))

    def replied() -> list[dict[str, Any]]:
        items = me.get(f"{path}/comments").json()["items"]
        assert [c["author_kind"] for c in items] == ["member", "member", "customer"], items
        return items

    reply = eventually(replied)[-1]
    assert "the new cartridge fixed it" in reply["body"] and "Could you try" not in reply["body"]
    assert "fuera de la oficina" not in reply["body"]
    assert reply["from"]["address"] == "ana.mail@example.com" and reply["from"]["notice"] is None
    assert me.get(path).json()["status"] == "open"

    # Closed, then answered again with `crm mail reply` on the mail's file (a Gmail-shaped reply), which shows
    # the reply on the ticket: the default follow-up choice reopens it.
    close_ticket(stack, ticket["id"])
    [mail_file] = [p for p in (stack.maildir / "new").iterdir() if b"ana.mail@example.com" in p.read_bytes()]
    host, port = listener(stack)
    command = [sys.executable, "-m", "crm_platform.cli", "mail", "reply", str(mail_file), "It is smoking again."]
    shown = subprocess.run(
        [*command, "--smtp", f"{host}:{port}", "--api", stack.url, "--token", me.token],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert shown.returncode == 0, shown.stderr
    assert (
        f"ticket #{ticket['number']} 'Printer on fire' is open; customer comment:\nIt is smoking again." in shown.stdout
    )
    assert me.get(path).json()["closed_at"] is None

    for seen in (path, f"{path}/comments"):
        assert_problem(stranger.get(seen), 404)
    assert ticket["id"] not in [t["id"] for t in stranger.get("/v1/tickets").json()["items"]]
