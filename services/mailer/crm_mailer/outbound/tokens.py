"""Signed tokens in our own addresses and links: ``reply+TOKEN@`` (Reply-To: the workspace and the thread),
``bounce+TOKEN@`` (the envelope sender, VERP: the workspace and the message, hence its recipient) and
``unsubscribe+TOKEN@`` / the one-click link (the workspace and the message).

A token is base64url (no padding) of two 16-byte UUIDs and the first 7 bytes of an HMAC-SHA256 over the kind and
both ids, with the key of ``MAILER_TOKEN_KEY``: 52 characters, so even ``unsubscribe+TOKEN`` fits the 64 octets
of a local part. Verifying needs only the key (no database); a forged, altered or truncated token, or one of
another kind, verifies as None. The inbound side calls ``verify`` on what ``crm_mailer.inbound.tokens`` parses.
"""

from __future__ import annotations

import binascii
import hmac
import uuid
from dataclasses import dataclass

from crm_platform.settings import Settings
from crm_platform.signing import SigningKey, b64, signing_key, unb64

REPLY, BOUNCE, UNSUBSCRIBE = "reply", "bounce", "unsubscribe"
KINDS = (REPLY, BOUNCE, UNSUBSCRIBE)
KEY_VARIABLE = "MAILER_TOKEN_KEY"
MAC_BYTES = 7
TOKEN_LENGTH = 52  # base64url of 16 + 16 + 7 bytes


class TokenKey(SigningKey):
    """The key that signs the mailer's address tokens."""


@dataclass(frozen=True)
class Claims:
    kind: str
    workspace_id: str
    subject_id: str  # the thread (reply) or the outbound message (bounce, unsubscribe)


def key_for(configured: str | None, platform: Settings) -> TokenKey:
    """The key of ``MAILER_TOKEN_KEY``, required in production; elsewhere, without it, one derived from the
    development JWT secret (as the DKIM key cipher derives its own), so tokens survive restarts."""
    key = signing_key(
        configured,
        variable=KEY_VARIABLE,
        signs="reply, bounce and unsubscribe tokens",
        purpose=b"crm mailer address tokens",
        jwt_secret=platform.jwt_secret,
        production=platform.is_production,
    )
    return TokenKey(key.secret)


def _mac(key: TokenKey, kind: str, payload: bytes) -> bytes:
    return key.mac(kind.encode() + b"\0" + payload, MAC_BYTES)


def sign(key: TokenKey, kind: str, *, workspace_id: str, subject_id: str) -> str:
    """The token naming ``workspace_id`` and ``subject_id`` (both UUIDs) for ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    payload = uuid.UUID(workspace_id).bytes + uuid.UUID(subject_id).bytes
    return b64(payload + _mac(key, kind, payload))


def verify(key: TokenKey, kind: str, token: str) -> Claims | None:
    """What a token of ``kind`` names, or None when it is not one we signed for that kind."""
    if kind not in KINDS or len(token) != TOKEN_LENGTH:
        return None
    try:
        raw = unb64(token, canonical=True)  # one token has one spelling
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 32 + MAC_BYTES:
        return None
    payload, mac = raw[:32], raw[32:]
    if not hmac.compare_digest(mac, _mac(key, kind, payload)):
        return None
    return Claims(
        kind=kind, workspace_id=str(uuid.UUID(bytes=payload[:16])), subject_id=str(uuid.UUID(bytes=payload[16:]))
    )


def address(key: TokenKey, kind: str, domain: str, *, workspace_id: str, subject_id: str) -> str:
    """``kind+TOKEN@domain``, e.g. the Reply-To of a thread or a message's envelope sender."""
    return f"{kind}+{sign(key, kind, workspace_id=workspace_id, subject_id=subject_id)}@{domain}"
