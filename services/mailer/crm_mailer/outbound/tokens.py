"""Signed tokens in our own addresses and links: ``reply+TOKEN@`` (Reply-To: the workspace and the thread),
``bounce+TOKEN@`` (the envelope sender, VERP: the workspace and the message, hence its recipient) and
``unsubscribe+TOKEN@`` / the one-click link (the workspace and the message).

A token is base64url (no padding) of two 16-byte UUIDs and the first 7 bytes of an HMAC-SHA256 over the kind and
both ids, with the key of ``MAILER_TOKEN_KEY``: 52 characters, so even ``unsubscribe+TOKEN`` fits the 64 octets
of a local part. Verifying needs only the key (no database); a forged, altered or truncated token, or one of
another kind, verifies as None. The inbound side calls ``verify`` on what ``crm_mailer.inbound.tokens`` parses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crm_platform.settings import Settings, SettingsError

REPLY, BOUNCE, UNSUBSCRIBE = "reply", "bounce", "unsubscribe"
KINDS = (REPLY, BOUNCE, UNSUBSCRIBE)
KEY_VARIABLE = "MAILER_TOKEN_KEY"
MAC_BYTES = 7
TOKEN_LENGTH = 52  # base64url of 16 + 16 + 7 bytes
MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class TokenKey:
    secret: bytes

    def __repr__(self) -> str:  # never in a log
        return "TokenKey(...)"


@dataclass(frozen=True)
class Claims:
    kind: str
    workspace_id: str
    subject_id: str  # the thread (reply) or the outbound message (bounce, unsubscribe)


def key_for(configured: str | None, platform: Settings) -> TokenKey:
    """The key of ``MAILER_TOKEN_KEY``, required in production; elsewhere, without it, one derived from the
    development JWT secret (as the DKIM key cipher derives its own), so tokens survive restarts."""
    if configured:
        if len(configured.encode()) < MIN_KEY_BYTES:
            raise SettingsError(f"{KEY_VARIABLE} must be at least {MIN_KEY_BYTES} characters of random data")
        return TokenKey(configured.encode())
    if platform.is_production or not platform.jwt_secret:
        raise SettingsError(
            f"{KEY_VARIABLE} is required: the secret that signs reply, bounce and unsubscribe tokens "
            "(e.g. `openssl rand -base64 48`)"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crm mailer address tokens").derive(
        platform.jwt_secret.encode()
    )
    return TokenKey(derived)


def _mac(key: TokenKey, kind: str, payload: bytes) -> bytes:
    return hmac.new(key.secret, kind.encode() + b"\0" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def sign(key: TokenKey, kind: str, *, workspace_id: str, subject_id: str) -> str:
    """The token naming ``workspace_id`` and ``subject_id`` (both UUIDs) for ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    payload = uuid.UUID(workspace_id).bytes + uuid.UUID(subject_id).bytes
    return base64.urlsafe_b64encode(payload + _mac(key, kind, payload)).rstrip(b"=").decode()


def verify(key: TokenKey, kind: str, token: str) -> Claims | None:
    """What a token of ``kind`` names, or None when it is not one we signed for that kind."""
    if kind not in KINDS or len(token) != TOKEN_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 32 + MAC_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        return None  # non-canonical encodings are refused, so one token has one spelling
    payload, mac = raw[:32], raw[32:]
    if not hmac.compare_digest(mac, _mac(key, kind, payload)):
        return None
    return Claims(
        kind=kind, workspace_id=str(uuid.UUID(bytes=payload[:16])), subject_id=str(uuid.UUID(bytes=payload[16:]))
    )


def address(key: TokenKey, kind: str, domain: str, *, workspace_id: str, subject_id: str) -> str:
    """``kind+TOKEN@domain``, e.g. the Reply-To of a thread or a message's envelope sender."""
    return f"{kind}+{sign(key, kind, workspace_id=workspace_id, subject_id=subject_id)}@{domain}"
