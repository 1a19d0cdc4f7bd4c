"""Tokens in our own addresses: ``bounce+TOKEN@`` (envelope sender of what we send, so bounces come back to
it), ``reply+TOKEN@`` (the Reply-To of a conversation) and ``unsubscribe+TOKEN@`` (List-Unsubscribe mailto).

Only the parsing is here; what a token means and how it is signed is the sending side's business.
"""

from __future__ import annotations

import re

from crm_mailer.inbound.message import InboundMessage

KINDS = ("bounce", "reply", "unsubscribe")
# A token keeps its case (it may be base64url); the tag before it is compared lower-cased.
_TOKEN = re.compile(r"^\s*<?\s*(bounce|reply|unsubscribe)\+([A-Za-z0-9._=-]{1,200})@", re.IGNORECASE)


def token_in(address: str, kind: str) -> str | None:
    """The token of ``kind`` in one address, e.g. token_in("reply+Ab9@x.test", "reply") == "Ab9"."""
    found = _TOKEN.match(address)
    return found.group(2) if found and found.group(1).lower() == kind else None


def addresses_for_tokens(message: InboundMessage) -> tuple[str, ...]:
    """Where a token may be, most trusted first: the envelope, then what the receiving servers recorded,
    then what the sender wrote (To, Cc)."""
    return (
        *message.envelope.rcpt_to,
        *message.headers_named("Delivered-To"),
        *message.headers_named("X-Original-To"),
        *(address.email for address in (*message.to, *message.cc)),
    )


def find_token(message: InboundMessage, kind: str) -> str | None:
    for address in addresses_for_tokens(message):
        token = token_in(address, kind)
        if token is not None:
            return token
    return None
