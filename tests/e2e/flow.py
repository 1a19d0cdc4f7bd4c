"""The walking skeleton as a user drives it: HTTP only, plus the mailbox the contact reads."""

from __future__ import annotations

import email
import mailbox
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import requests

T = TypeVar("T")


def eventually(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.2) -> T:
    """Retry ``check`` until it stops raising AssertionError (events arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


@dataclass
class Client:
    base_url: str
    token: str

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.base_url + path, params=params, headers=self._headers(), timeout=30)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(self.base_url + path, json=body, headers=self._headers(headers), timeout=30)


def mails(maildir: Path) -> list[Message]:
    if not (maildir / "new").exists():
        return []
    box = mailbox.Maildir(maildir, factory=None, create=False)
    return [email.message_from_bytes(box.get_bytes(key)) for key in box.keys()]


def text_of(mail: Message) -> str:
    """The text parts of a mail (multipart/alternative: the plain text and the HTML), decoded."""
    return "".join(
        (part.get_payload(decode=True) or b"").decode() for part in mail.walk() if part.get_content_maintype() == "text"
    )


def assert_problem(response: requests.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["type"].startswith("urn:crm:problem:") and problem["title"]
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem
    return problem


def walk_skeleton(me: Client, stranger: Client, maildir: Path) -> dict[str, Any]:
    """Contact → ticket → public and private comments → email → conversation → report; returns what it made."""
    started = time.time()
    summary_before = me.get("/v1/reports/summary").json()

    created = me.post("/v1/contacts", {"name": "Ana  Ruiz", "email": "Ana.Ruiz@Example.COM", "phone": "622 345 678"})
    assert created.status_code == 201, created.text
    contact = created.json()
    assert contact["email"] == "ana.ruiz@example.com"
    assert contact["phone"] == "+34622345678"
    assert contact["name"] == "Ana Ruiz"
    assert me.get(f"/v1/contacts/{contact['id']}").json() == contact
    assert contact["id"] in [c["id"] for c in me.get("/v1/contacts").json()["items"]]

    assert_problem(
        me.post("/v1/tickets", {"subject": "Nope", "contact_id": "01a2070b-0bfc-722f-90e0-d1830a840869"}),
        422,
        "contact_id",
    )
    opened = me.post("/v1/tickets", {"subject": "Printer on fire", "contact_id": contact["id"]})
    assert opened.status_code == 201, opened.text
    ticket = opened.json()

    public = me.post(
        f"/v1/tickets/{ticket['id']}/comments", {"body": "We are sending a technician today.", "public": True}
    )
    assert public.status_code == 201, public.text
    private = me.post(
        f"/v1/tickets/{ticket['id']}/comments", {"body": "Customer sounds angry; SECRET-NOTE", "public": False}
    )
    assert private.status_code == 201, private.text
    assert [c["public"] for c in me.get(f"/v1/tickets/{ticket['id']}/comments").json()["items"]] == [True, False]

    conversation = me.post("/v1/conversations", {"contact_id": contact["id"], "subject": "Quote request"})
    assert conversation.status_code == 201, conversation.text
    message = me.post(f"/v1/conversations/{conversation.json()['id']}/messages", {"body": "Here is your quote."})
    assert message.status_code == 201, message.text

    def mail_arrived() -> Message:
        received = [
            m for m in mails(maildir) if m["To"] == "ana.ruiz@example.com" and f"[#{ticket['number']}]" in m["Subject"]
        ]
        assert len(received) == 1, [m["Subject"] for m in mails(maildir)]
        return received[0]

    delivered = eventually(mail_arrived)
    assert "Printer on fire" in delivered["Subject"]
    assert "We are sending a technician today." in text_of(delivered)
    assert not any("SECRET-NOTE" in text_of(m) for m in mails(maildir))

    def conversation_mail_arrived() -> Message:
        received = [m for m in mails(maildir) if m["To"] == "ana.ruiz@example.com" and m["Subject"] == "Quote request"]
        assert len(received) == 1, [m["Subject"] for m in mails(maildir)]
        return received[0]

    assert "Here is your quote." in text_of(eventually(conversation_mail_arrived))

    def report_counts() -> dict[str, Any]:
        summary = me.get("/v1/reports/summary").json()
        grown = {k: summary[k] - summary_before[k] for k in summary if k not in ("from", "to")}
        assert grown == {
            "contacts_created": 1,
            "tickets_opened": 1,
            "public_comments": 1,
            "emails_delivered": 2,  # the public comment, and the conversation's message (mailed to the contact)
            "conversation_messages": 1,
        }, grown
        return summary

    eventually(report_counts)
    day = time.strftime("%Y-%m-%d", time.gmtime(started))
    assert me.get("/v1/reports/summary", **{"from": "2001-01-01", "to": "2001-01-02"}).json()["contacts_created"] == 0
    assert me.get("/v1/reports/summary", **{"from": day, "to": day}).json()["tickets_opened"] >= 1

    # Another workspace sees none of it.
    for path in (
        f"/v1/contacts/{contact['id']}",
        f"/v1/tickets/{ticket['id']}",
        f"/v1/tickets/{ticket['id']}/comments",
        f"/v1/conversations/{conversation.json()['id']}",
    ):
        assert_problem(stranger.get(path), 404)
    assert contact["id"] not in [c["id"] for c in stranger.get("/v1/contacts").json()["items"]]
    assert_problem(stranger.post("/v1/tickets", {"subject": "Steal", "contact_id": contact["id"]}), 422, "contact_id")
    assert stranger.get("/v1/reports/summary").json()["contacts_created"] == 0
    return {"contact": contact, "ticket": ticket}
