"""Visitor session tokens of the web chat: minted when a visitor starts a chat, carried by the widget (the
browser keeps it across reloads), verified by the widget endpoints and by the realtime process.

A token is ``v1.<payload>.<mac>``: base64url (no padding) of a compact JSON payload naming the workspace, the
inbox, the conversation, the visitor (and the contact when the site vouched for one) and the expiry, then the
first 16 bytes of an HMAC-SHA256 over ``"crm widget visitor\\0" + payload`` with the key of
``CONVERSATIONS_WIDGET_TOKEN_KEY``. Verifying needs only the key (no database); a forged, altered, truncated or
expired token is refused the same way.
"""

from __future__ import annotations

import binascii
import functools
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from crm_platform.errors import Unauthenticated
from crm_platform.service import Runtime
from crm_platform.signing import SigningKey, b64, signing_key, unb64

KEY_VARIABLE = "CONVERSATIONS_WIDGET_TOKEN_KEY"
MAC_BYTES = 16
MAX_TOKEN_CHARS = 1024
_PREFIX = "v1"
_CONTEXT = b"crm widget visitor\0"


class TokenKey(SigningKey):
    """The key that signs visitor tokens."""


@dataclass(frozen=True)
class VisitorSession:
    """What a visitor token binds: one visitor's chat on one conversation of one inbox of one workspace."""

    workspace_id: str
    inbox_id: str
    conversation_id: str
    visitor_id: str
    contact_id: str | None  # the contact the site vouched for (identity verified), else None
    expires_at: datetime


class InvalidVisitorToken(Unauthenticated):
    """The token is not one we minted, or no longer valid: the widget starts a new session."""

    code = "invalid-visitor-token"


def key_for(configured: str | None, *, jwt_secret: str | None, production: bool) -> TokenKey:
    """The key of ``CONVERSATIONS_WIDGET_TOKEN_KEY``, required in production; elsewhere, without it, one
    derived from the development JWT secret, so tokens survive restarts and every process agrees on it."""
    key = signing_key(
        configured,
        variable=KEY_VARIABLE,
        signs="the chat widget's visitor tokens",
        purpose=b"crm conversations widget tokens",
        jwt_secret=jwt_secret,
        production=production,
    )
    return TokenKey(key.secret)


def _mac(key: TokenKey, payload: bytes) -> bytes:
    return key.mac(_CONTEXT + payload, MAC_BYTES)


def mint_visitor_token(
    key: TokenKey,
    *,
    workspace_id: str,
    inbox_id: str,
    conversation_id: str,
    visitor_id: str,
    contact_id: str | None,
    ttl: timedelta,
    now: datetime,
) -> str:
    """A token for this visitor's chat, valid for ``ttl`` from ``now``."""
    payload = json.dumps(
        {
            "w": workspace_id,
            "i": inbox_id,
            "c": conversation_id,
            "v": visitor_id,
            "k": contact_id or "",
            "e": int((now + ttl).timestamp()),
        },
        separators=(",", ":"),
    ).encode()
    return f"{_PREFIX}.{b64(payload)}.{b64(_mac(key, payload))}"


def verify_visitor_token(rt: Runtime, token: str) -> VisitorSession:
    """The session a visitor token names (PROTOCOL.md's interface, which the realtime process calls); raises
    ``InvalidVisitorToken`` (an ``Unauthenticated``) when it is forged, expired or malformed. Pure CPU."""
    return verify(key_of(rt), token)


def key_of(rt: Runtime) -> TokenKey:
    """The token key of a runtime's settings (derived once per process)."""
    platform = rt.settings
    return _cached_key(rt.service_settings.widget_token_key, platform.jwt_secret, platform.is_production)


@functools.lru_cache(maxsize=8)
def _cached_key(configured: str | None, jwt_secret: str | None, production: bool) -> TokenKey:
    return key_for(configured, jwt_secret=jwt_secret, production=production)


def verify(key: TokenKey, token: str, *, now: datetime | None = None) -> VisitorSession:
    """The claims of a token we minted that has not expired; raises ``InvalidVisitorToken`` (401) otherwise."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidVisitorToken("the visitor token is not valid")
    prefix, _, rest = token.partition(".")
    encoded, _, encoded_mac = rest.partition(".")
    try:
        payload, mac = unb64(encoded, canonical=True), unb64(encoded_mac, canonical=True)
    except (binascii.Error, ValueError):
        raise InvalidVisitorToken("the visitor token is not valid") from None
    if prefix != _PREFIX or not hmac.compare_digest(mac, _mac(key, payload)):
        raise InvalidVisitorToken("the visitor token is not valid")
    try:
        claims = json.loads(payload)
        expires_at = datetime.fromtimestamp(int(claims["e"]), UTC)
        found = VisitorSession(
            workspace_id=str(claims["w"]),
            inbox_id=str(claims["i"]),
            conversation_id=str(claims["c"]),
            visitor_id=str(claims["v"]),
            contact_id=str(claims["k"]) or None,
            expires_at=expires_at,
        )
    except (KeyError, TypeError, ValueError):  # signed by us, so only an older shape could get here
        raise InvalidVisitorToken("the visitor token is not valid") from None
    if (now or datetime.now(UTC)) >= expires_at:
        raise InvalidVisitorToken("the visitor token has expired")
    return found
