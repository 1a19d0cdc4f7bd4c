"""Composing mail and deciding when to try again: plain functions, no I/O.

Headers are built only from structured data: text that reaches a header (a subject, a display name) has its
control characters (CR, LF, tabs, NUL...) turned into spaces first, and the email package then encodes what is
not plain ASCII (RFC 2047), so no value can start a header of its own. Text that looks like an encoded word
(``=?utf-8?q?...?=``) gets a space after its ``=`` (``= ?utf-8...``), so neither the email package nor a client
decodes a newline out of it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from crm_platform import html as platform_html

MAX_ATTEMPTS = 8
RETRY_WINDOW = timedelta(hours=48)  # a mail not delivered by then fails, whatever its attempts
MAX_REFERENCES = 10  # the thread's latest Message-IDs a follow-up names
# The policy mail is written with: CRLF, lines folded at 78, nothing above 998 octets.
WIRE = policy.SMTP.clone(max_line_length=78)

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[bBqQ]\?", re.ASCII)


def ticket_subject(ticket_id: str, subject: str, number: int = 0) -> str:
    """``[#1234] Printer on fire``: the workspace's ticket number lets replies find their ticket (the end of the
    ticket's id, ``[#1a2b3c4d]``, for a request that carries no number)."""
    return f"[#{number if number > 0 else ticket_id[-8:]}] {subject}"


def message_id(outbound_id: str, domain: str) -> str:
    """Stable per outbound row: a resend after a crash carries the same Message-ID, so receivers dedupe."""
    return f"<{outbound_id}@{domain}>"


def header_text(value: str, *, limit: int = 400) -> str:
    """``value`` fit for a header: control characters (CR/LF included) become one space, the ends trimmed."""
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


def header_value(value: str, *, limit: int = 400) -> str:
    """Header text in which nothing reads as an encoded word."""
    return _ENCODED_WORD.sub(lambda found: "= " + found.group(0)[1:], header_text(value, limit=limit))


def mailbox(display_name: str | None, address: str) -> Address:
    """One address with an optional display name, quoted and encoded by the email package, never spliced."""
    local, _, domain = address.rpartition("@")
    name = header_value(display_name or "", limit=120)
    return Address(display_name=name, username=local, domain=domain)


def references(previous: Sequence[str], parent: str | None) -> tuple[str, ...]:
    """A follow-up's References: the parent's own, then the parent, the latest ``MAX_REFERENCES`` kept."""
    chain = [*previous, *([parent] if parent else [])]
    return tuple(chain[-MAX_REFERENCES:])


def html_of_text(text: str) -> str:
    """A plain text body as HTML: paragraphs on blank lines, line breaks kept, everything escaped."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def sanitize_html(markup: str) -> str:
    """HTML a requester sent, down to formatting and links: the platform's one allowlist (crm_platform.html)."""
    return platform_html.sanitize(markup)


def with_signature(text: str, signature: str | None) -> str:
    """The body with the member's signature below the usual ``-- `` separator (RFC 3676), when there is one."""
    if not signature or not signature.strip():
        return text
    return f"{text.rstrip()}\n\n-- \n{signature.strip()}\n"


def html_with_signature(markup: str, signature: str | None) -> str:
    """HTML with the member's signature below a ``-- `` line, escaped, when there is one."""
    if not signature or not signature.strip():
        return markup
    return f"{markup}<p>-- <br>{html.escape(signature.strip()).replace(chr(10), '<br>')}</p>"


@dataclass(frozen=True)
class Headers:
    """What an outbound mail says about itself beyond From/To/Subject."""

    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = False  # not written by a person for this recipient: Auto-Submitted
    list_unsubscribe: tuple[str, ...] = ()  # URIs, e.g. ("https://...", "mailto:...")
    one_click: bool = False  # List-Unsubscribe-Post (RFC 8058): only with an https URI
    extra: dict[str, str] = field(default_factory=dict)


def build(
    *,
    sender: str | Address,
    recipient: str,
    subject: str,
    body: str,
    rfc822_message_id: str,
    ticket_id: str | None,
    when: datetime,
    html_body: str | None = None,
    headers: Headers | None = None,
) -> EmailMessage:
    """The mail as multipart/alternative: the text, then HTML (the requester's, sanitized, or the text's)."""
    extra = headers or Headers()
    mail = EmailMessage(policy=WIRE)
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = header_value(subject)
    mail["Message-ID"] = rfc822_message_id
    mail["Date"] = format_datetime(when)
    if extra.reply_to:
        mail["Reply-To"] = extra.reply_to
    if extra.in_reply_to:
        mail["In-Reply-To"] = extra.in_reply_to
    if extra.references:
        mail["References"] = " ".join(extra.references)
    if extra.automatic:
        mail["Auto-Submitted"] = "auto-generated"
    if extra.list_unsubscribe:
        mail["List-Unsubscribe"] = ", ".join(f"<{uri}>" for uri in extra.list_unsubscribe)
        if extra.one_click and any(uri.startswith("https://") for uri in extra.list_unsubscribe):
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if ticket_id:
        mail["X-CRM-Ticket-ID"] = header_text(ticket_id, limit=64)
    for name, value in extra.extra.items():
        mail[name] = header_value(value)
    mail.set_content(body)
    mail.add_alternative(sanitize_html(html_body) if html_body else html_of_text(body), subtype="html")
    return mail


def wire_bytes(mail: EmailMessage) -> bytes:
    """The mail as it goes on the wire (CRLF), what DKIM signs and the transports send."""
    return mail.as_bytes(policy=WIRE)


def next_attempt(attempts: int, now: datetime, *, created_at: datetime | None = None) -> datetime | None:
    """When to retry after ``attempts`` failed tries, or None to give up: after ``MAX_ATTEMPTS``, or when the
    retry would fall beyond the retry window counted from ``created_at``."""
    if attempts >= MAX_ATTEMPTS:
        return None
    retry_at = now + timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))
    if created_at is not None and retry_at > created_at + RETRY_WINDOW:
        return None
    return retry_at


def expired(created_at: datetime, now: datetime) -> bool:
    """A queued mail older than the retry window is not tried any more (the worker may have been down)."""
    return now > created_at + RETRY_WINDOW
