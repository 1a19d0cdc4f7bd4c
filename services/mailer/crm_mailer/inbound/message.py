"""The shape of a received message once parsed: immutable values, no email.message objects, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

Fields = tuple[tuple[str, str], ...]  # (name, value) pairs in their order, names as written


@dataclass(frozen=True)
class Address:
    email: str  # as written; ``key`` is the lower-cased form addresses are compared by
    name: str = ""

    @property
    def key(self) -> str:
        return self.email.strip().lower()

    @property
    def local_part(self) -> str:
        return self.key.rsplit("@", 1)[0] if "@" in self.key else self.key


@dataclass(frozen=True)
class Envelope:
    """What the SMTP session said: MAIL FROM ("" for a null sender, as bounces use) and the RCPT TOs; the
    client's address and HELO name, which SPF checks (None when unknown, e.g. mail posted over HTTP)."""

    mail_from: str | None = None
    rcpt_to: tuple[str, ...] = ()
    client_ip: str | None = None
    helo: str | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # bytes once the transfer encoding is undone
    disposition: str = "attachment"  # or "inline"
    content_id: str | None = None
    # The decoded bytes, for the attachment store (crm_mailer/attachments.py); never logged or compared.
    data: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True)
class Report:
    """A multipart/report's machine-readable part: DSN (RFC 3464), ARF (RFC 5965) or MDN (RFC 8098).

    ``groups`` are its blocks of fields: for a DSN the per-message block first, then one per recipient; an ARF
    report has one. ``original`` holds the headers of the returned message (message/rfc822 or text/rfc822-headers).
    """

    report_type: str  # delivery-status, feedback-report, disposition-notification, ...
    groups: tuple[Fields, ...] = ()
    human_text: str = ""
    original: Fields = ()


@dataclass(frozen=True)
class AuthResult:
    """One method of an Authentication-Results header (RFC 8601), e.g. dkim=pass header.d=example.com."""

    method: str
    result: str
    authserv_id: str = ""
    properties: Fields = ()


@dataclass(frozen=True)
class ParseLimits:
    max_bytes: int = 25 * 1024 * 1024  # larger messages are quarantined with their headers only
    max_depth: int = 20  # multipart nesting; deeper parts are not read
    max_parts: int = 500  # MIME parts in all
    max_text_chars: int = 1_000_000  # a text or HTML body past this is cut (and says so in ``defects``)
    max_header_chars: int = 64 * 1024  # one header's decoded value
    max_header_lines: int = 5000  # lines before the body (folded ones included); more is quarantined unread


@dataclass(frozen=True)
class InboundMessage:
    """A received message parsed as far as it could be; ``raw`` keeps the full original.

    ``quarantine`` names why the message should not be routed (too large, too deep, ...), None when it may.
    ``defects`` lists what was wrong but survivable (a missing boundary, an unknown charset, 8-bit headers), as
    stable codes to count.
    """

    raw: bytes
    headers: Fields = ()
    envelope: Envelope = field(default_factory=Envelope)
    subject: str = ""
    from_: Address | None = None
    sender: Address | None = None
    reply_to: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    message_id: str | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    date: datetime | None = None
    content_type: str = "text/plain"
    text: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    report: Report | None = None
    authentication_results: tuple[str, ...] = ()
    auth: tuple[AuthResult, ...] = ()
    defects: tuple[str, ...] = ()
    quarantine: str | None = None

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), decoded; None when absent."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def headers_named(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)

    def has_header(self, name: str) -> bool:
        return self.header(name) is not None

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every address this copy was for, lower-cased: the envelope's, then Delivered-To/X-Original-To/To/Cc."""
        seen: dict[str, None] = {}
        for address in self.envelope.rcpt_to:
            seen.setdefault(address.strip().strip("<>").lower(), None)
        for name in ("Delivered-To", "X-Original-To"):
            for value in self.headers_named(name):
                seen.setdefault(value.strip().strip("<>").lower(), None)
        for entry in (*self.to, *self.cc):
            seen.setdefault(entry.key, None)
        return tuple(address for address in seen if address)
