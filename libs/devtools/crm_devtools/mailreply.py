"""``crm mail reply <mail file> "text"``: answer a mail the platform sent, as a mail client would, through the
mailer's SMTP listener (all-in-one mode: ``var/mail/new/...``, the listener on 127.0.0.1:2525).

The reply is shaped like Gmail's: ``Re:`` subject, In-Reply-To and References naming the original, the new text
then the quoted original under an "On <date>, <sender> wrote:" line, sent from the original's recipient to
its Reply-To (else its From). The mailer folds the quoted history away and threads the reply onto the ticket."""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Any

DEFAULT_SMTP = "127.0.0.1:2525"


def _text_of(original: Message) -> str:
    for part in original.walk():
        if part.get_content_type() == "text/plain" and part.get_content_disposition() != "attachment":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


def build_reply(original: Message, text: str, *, sender: str | None = None) -> EmailMessage:
    """A client-shaped reply to ``original`` saying ``text`` above the quoted original."""
    _name, to_address = parseaddr(str(original["Reply-To"] or original["From"] or ""))
    if not to_address:
        raise ValueError("the mail has neither Reply-To nor From: nobody to reply to")
    recipients = getaddresses([str(original["To"] or "")])
    from_address = sender or (recipients[0][1] if recipients else "")
    if not from_address:
        raise ValueError("the mail has no To: pass --from")
    subject = str(original["Subject"] or "")
    message_id = str(original["Message-ID"] or "").strip()
    references = [*str(original["References"] or "").split(), *([message_id] if message_id else [])]
    reply = EmailMessage(policy=policy.SMTP)
    reply["From"] = from_address
    reply["To"] = to_address
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    reply["Date"] = format_datetime(datetime.now().astimezone())
    reply["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or "localhost")
    if message_id:
        reply["In-Reply-To"] = message_id
        reply["References"] = " ".join(references[-10:])
    quoted = "\n".join(f"> {line}" if line else ">" for line in _text_of(original).rstrip().splitlines())
    who = str(original["From"] or to_address)
    reply.set_content(f"{text.rstrip()}\n\nOn {original['Date'] or 'an earlier day'}, {who} wrote:\n{quoted}\n")
    return reply


def send(reply: EmailMessage, smtp: str) -> None:
    host, _, port = smtp.rpartition(":")
    with smtplib.SMTP(host or "127.0.0.1", int(port), timeout=30) as client:
        client.send_message(reply)


def _get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def show_on_ticket(api: str, token: str, ticket_id: str, text: str, *, timeout: float = 20.0) -> dict[str, Any]:
    """Wait for the reply to land on the ticket (the mailer and tickets process it asynchronously); the ticket's
    status and the customer comment."""
    deadline = time.monotonic() + timeout
    base = f"{api.rstrip('/')}/v1/tickets/{urllib.parse.quote(ticket_id)}"
    wanted = " ".join(text.split())
    while True:
        comments = _get_json(f"{base}/comments?limit=100", token)["items"]
        for comment in reversed(comments):
            if comment.get("author_kind") == "customer" and wanted in " ".join(comment["body"].split()):
                return {"ticket": _get_json(base, token), "comment": comment}
        if time.monotonic() > deadline:
            raise TimeoutError(f"the reply did not reach ticket {ticket_id} within {timeout:g}s")
        time.sleep(0.25)


def cmd_reply(args: argparse.Namespace) -> int:
    path = Path(args.mail)
    if not path.is_file():
        print(f"no such mail file: {path}", file=sys.stderr)
        return 2
    original = message_from_bytes(path.read_bytes(), policy=policy.default)
    try:
        reply = build_reply(original, args.text, sender=args.sender)  # type: ignore[arg-type]
        send(reply, args.smtp)
    except (ValueError, OSError, smtplib.SMTPException) as exc:
        print(f"the reply was not sent: {exc}", file=sys.stderr)
        return 1
    print(f"replied {reply['Message-ID']} from {reply['From']} to {reply['To']} via {args.smtp}")
    ticket_id = str(original["X-CRM-Ticket-ID"] or "").strip()
    if not args.token or not ticket_id:
        return 0
    try:
        shown = show_on_ticket(args.api, args.token, ticket_id, args.text)
    except (OSError, TimeoutError, ValueError, KeyError) as exc:
        print(f"the reply is not on ticket {ticket_id}: {exc}", file=sys.stderr)
        return 1
    ticket, comment = shown["ticket"], shown["comment"]
    print(f"ticket #{ticket['number']} {ticket['subject']!r} is {ticket['status']}; {comment['author_kind']} comment:")
    print(comment["body"])
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    mail = sub.add_parser("mail", help="development helpers for mail (reply to a mail in the Maildir)")
    actions = mail.add_subparsers(dest="mail_command", required=True)
    reply = actions.add_parser("reply", help="reply to a mail file as a client would, through the SMTP listener")
    reply.add_argument("mail", help="a mail the platform sent, e.g. var/mail/new/<file>")
    reply.add_argument("text", help="what the reply says (above the quoted original)")
    reply.add_argument("--from", dest="sender", default=None, help="the sender (default: the mail's To)")
    reply.add_argument(
        "--token", default=os.environ.get("CRM_TOKEN"), help="a token: then show the reply on the ticket"
    )
    reply.add_argument("--api", default=os.environ.get("CRM_API_URL", "http://127.0.0.1:8080"), help="the HTTP API")
    reply.add_argument(
        "--smtp", default=os.environ.get("CRM_MAIL_REPLY_SMTP", DEFAULT_SMTP), help="the listener's host:port"
    )
    reply.set_defaults(func=cmd_reply)
