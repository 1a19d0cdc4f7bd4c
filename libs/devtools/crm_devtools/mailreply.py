"""``crm mail reply <mail file> "text"``: answer a mail the platform sent, as a mail client would, through the
mailer's SMTP listener (all-in-one mode: ``var/mail/new/...``, the listener on 127.0.0.1:2525).

The reply is shaped like Gmail's: ``Re:`` subject, In-Reply-To and References naming the original, the new text
then the quoted original under an "On <date>, <sender> wrote:" line, sent from the original's recipient to
its Reply-To (else its From). The mailer folds the quoted history away and threads the reply onto the ticket."""

from __future__ import annotations

import argparse
import os
import smtplib
import sys
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from pathlib import Path

DEFAULT_SMTP = "127.0.0.1:2525"


def _text_of(original: EmailMessage) -> str:
    part = original.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def build_reply(original: EmailMessage, text: str, *, sender: str | None = None) -> EmailMessage:
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
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    mail = sub.add_parser("mail", help="development helpers for mail (reply to a mail in the Maildir)")
    actions = mail.add_subparsers(dest="mail_command", required=True)
    reply = actions.add_parser("reply", help="reply to a mail file as a client would, through the SMTP listener")
    reply.add_argument("mail", help="a mail the platform sent, e.g. var/mail/new/<file>")
    reply.add_argument("text", help="what the reply says (above the quoted original)")
    reply.add_argument("--from", dest="sender", default=None, help="the sender (default: the mail's To)")
    reply.add_argument(
        "--smtp", default=os.environ.get("CRM_MAIL_REPLY_SMTP", DEFAULT_SMTP), help="the listener's host:port"
    )
    reply.set_defaults(func=cmd_reply)
