"""Writing an outbound mail straight to its wire bytes (CRLF, what DKIM signs), without the email package's objects.

``rules.build`` makes an ``EmailMessage`` and the email package folds and encodes its header objects, which cost
about 4 ms a mail. This writer makes the same mail (multipart/alternative, plain text then HTML, the same headers
in the same order) from structured data in a few tens of microseconds, with a small header encoder whose rules
are few and tested (tests/unit/mailer/outbound/test_wire.py):

- Text that reaches an unstructured header (a subject) or a display name is first made header text by
  ``rules.header_value`` (control characters, CR and LF among them, become spaces; encoded words are defused).
  Plain ASCII is then folded at spaces; anything else (non-ASCII, a word too long to fold) is written as RFC 2047
  encoded words (``=?utf-8?b?...?=``), each whole characters, so no value can start a header of its own.
- A display name of atoms is written as it is, one with other characters as a quoted string (``\\`` and ``"``
  escaped), a non-ASCII one as encoded words.
- Addresses, Message-IDs and URIs are never encoded: one that is not plain printable ASCII of the expected shape
  raises ``Unwritable``, and the caller builds that mail with the email package instead (``rules.build``), which
  either encodes it or refuses it as before. So this writer only ever takes the common case faster; it never
  writes anything the email package would not.
- No line is longer than 78 characters where a space allows a fold, none longer than 998 ever (``Unwritable``).
- Bodies are 7bit when ASCII with short lines, else quoted-printable UTF-8; lines end in CRLF.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from email.utils import format_datetime

from crm_mailer.outbound import rules

FOLD_AT = 78  # RFC 5322's SHOULD
LINE_LIMIT = 998  # its MUST, without the CRLF

_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+", re.ASCII)  # atext and the spaces between atoms
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9-]+", re.ASCII)  # a header field's name, as we write them
_TOKEN = re.compile(r"[\x21-\x7e]+", re.ASCII)  # printable ASCII, no space: a Message-ID, a URI in <>
_PREFIX = "=?utf-8?b?"


class Unwritable(ValueError):
    """A value this writer does not write (a non-ASCII address, a control character in a Message-ID...): the
    caller builds the mail with the email package, which encodes it or refuses it."""


def _fold(name: str, tokens: Iterable[str]) -> bytes:
    """``Name: token token ...`` folded at the spaces between tokens, CRLF at the end. Tokens hold no space."""
    lines: list[str] = []
    line, first = f"{name}:", True
    for token in tokens:
        if not first and len(line) + 1 + len(token) > FOLD_AT:
            lines.append(line)
            line = " " + token
        else:
            line = f"{line} {token}"
        first = False
    lines.append(line)
    if any(len(each) > LINE_LIMIT for each in lines):
        raise Unwritable(f"{name}: a word longer than a line")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def encoded_words(text: str, *, first: int = 40) -> list[str]:
    """``text`` as RFC 2047 encoded words (UTF-8, base64), split between characters: the first fits in about
    ``first`` characters, the others in a folded line of their own."""
    words: list[str] = []
    budget = max(first - len(_PREFIX) - 2, 8) // 4 * 3  # bytes of UTF-8 per word
    chunk = bytearray()
    for char in text:
        data = char.encode("utf-8")
        if chunk and len(chunk) + len(data) > budget:
            words.append(_PREFIX + base64.b64encode(chunk).decode("ascii") + "?=")
            chunk = bytearray()
            budget = (FOLD_AT - 1 - len(_PREFIX) - 2) // 4 * 3
        chunk += data
    if chunk:
        words.append(_PREFIX + base64.b64encode(chunk).decode("ascii") + "?=")
    return words


def _ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


def unstructured(name: str, text: str) -> bytes:
    """A header of free text (Subject): ``text`` must already be header text (``rules.header_value``)."""
    if _ascii(text):
        words = text.split(" ")
        if all(len(word) <= FOLD_AT - 1 - (len(name) + 1 if index == 0 else 0) for index, word in enumerate(words)):
            return _fold(name, words)
    return _fold(name, encoded_words(text, first=FOLD_AT - len(name) - 2))


def address(value: str) -> str:
    """An addr-spec as it is written: dot-atom ASCII at a host name, else ``Unwritable``."""
    if _ADDRESS.fullmatch(value) is None:
        raise Unwritable("an address this writer does not write")
    return value


def mailbox_tokens(display_name: str, addr: str, *, first: int) -> list[str]:
    """``Name <addr>`` as tokens to fold: the name (already header text) as atoms, a quoted string or encoded
    words; just the address when there is no name."""
    spec = address(addr)
    if not display_name:
        return [spec]
    if _ATOMS.fullmatch(display_name):
        name = display_name.split(" ")
    elif _ascii(display_name):
        name = ['"' + display_name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    else:
        name = encoded_words(display_name, first=first)
    return [*name, f"<{spec}>"]


def structured(name: str, value: str) -> bytes:
    """A header of tokens we made ourselves (Message-IDs, URIs, a date): printable ASCII only, else
    ``Unwritable``; folded at its spaces."""
    tokens = value.split(" ")
    if not all(_TOKEN.fullmatch(token) for token in tokens):
        raise Unwritable(f"{name}: not printable ASCII")
    return _fold(name, tokens)


def text_part(subtype: str, text: str) -> bytes:
    """One text/* body part with its headers: 7bit when ASCII with short lines, else quoted-printable UTF-8."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: the email package's business
        raise Unwritable("body not encodable") from exc
    lines = data.splitlines()
    if data.isascii() and all(len(line) <= FOLD_AT for line in lines):
        encoding, payload = b"7bit", b"\r\n".join(lines) + b"\r\n"
    else:
        encoding = b"quoted-printable"
        payload = binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True).replace(b"\n", b"\r\n")
    return (
        b"Content-Type: text/" + subtype.encode("ascii") + b'; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: " + encoding + b"\r\n\r\n" + payload
    )


def write(
    *,
    sender_name: str | None,
    sender_address: str,
    recipient: str,
    subject: str,
    body: str,
    rfc822_message_id: str,
    ticket_id: str | None,
    when: datetime,
    html_body: str | None = None,
    headers: rules.Headers | None = None,
) -> bytes:
    """The mail ``rules.build`` would make, as wire bytes. Raises ``Unwritable`` for what it leaves to it."""
    extra = headers or rules.Headers()
    name = rules.header_value(sender_name or "", limit=120)
    head = [
        _fold("From", mailbox_tokens(name, sender_address, first=FOLD_AT - len("From: "))),
        _fold("To", [address(recipient)]),
        unstructured("Subject", rules.header_value(subject)),
        structured("Message-ID", rfc822_message_id),
        structured("Date", format_datetime(when)),
    ]
    if extra.reply_to:
        head.append(_fold("Reply-To", [address(extra.reply_to)]))
    if extra.in_reply_to:
        head.append(structured("In-Reply-To", extra.in_reply_to))
    if extra.references:
        head.append(structured("References", " ".join(extra.references)))
    if extra.automatic:
        head.append(b"Auto-Submitted: auto-generated\r\n")
    if extra.list_unsubscribe:
        head.append(structured("List-Unsubscribe", ", ".join(f"<{uri}>" for uri in extra.list_unsubscribe)))
        if extra.one_click and any(uri.startswith("https://") for uri in extra.list_unsubscribe):
            head.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    if ticket_id:
        head.append(unstructured("X-CRM-Ticket-ID", rules.header_text(ticket_id, limit=64)))
    for field, value in extra.extra.items():
        if _NAME.fullmatch(field) is None:
            raise Unwritable("a header name this writer does not write")
        head.append(unstructured(field, rules.header_value(value)))
    plain = text_part("plain", body)
    html = text_part("html", rules.sanitize_html(html_body) if html_body else rules.html_of_text(body))
    boundary = "===============" + secrets.token_hex(12) + "=="
    marker = b"--" + boundary.encode("ascii")
    while marker in plain or marker in html:  # never, in practice: 96 random bits
        boundary = "===============" + secrets.token_hex(12) + "=="
        marker = b"--" + boundary.encode("ascii")
    head.append(b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="' + marker[2:] + b'"\r\n')
    # The CRLF before each delimiter belongs to it: each part's text keeps its own last line end.
    return b"".join(
        (*head, b"\r\n", marker, b"\r\n", plain, b"\r\n", marker, b"\r\n", html, b"\r\n", marker, b"--\r\n")
    )
