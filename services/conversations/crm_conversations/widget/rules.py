"""What a website inbox may hold and who may chat through it: plain functions, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from crm_platform.errors import FieldError, Forbidden, InvalidInput, phrase

SECRET_BYTES = 32  # the identity secret: 256 bits, shown to the admin once, as hex
MAX_ORIGINS = 20
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


def new_secret() -> str:
    """A fresh identity secret for an inbox (hex of 32 random bytes)."""
    return secrets.token_hex(SECRET_BYTES)


def identity_hash(secret: str, user_id: str) -> str:
    """What the site computes on its server for a signed-in user: hex HMAC-SHA256 of the identifier with the
    inbox's secret."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_matches(secret: str, user_id: str, given: str) -> bool:
    """Whether ``given`` is the identifier's HMAC under ``secret``, compared in constant time (case-insensitive
    hex, so a site's upper-case digest passes)."""
    if not user_id or not given:
        return False
    return hmac.compare_digest(identity_hash(secret, user_id).encode(), given.strip().lower().encode())


def origin_of(raw: str) -> str | None:
    """``scheme://host[:port]`` as a browser sends it in ``Origin`` (lower case, the default port dropped), or
    None when ``raw`` is not an http(s) origin (a path, a query, credentials, a wildcard)."""
    text = raw.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https") or not _HOST.fullmatch(host):
        return None
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        return None
    scheme = parts.scheme.lower()
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def clean_origins(raw: list[str]) -> list[str]:
    """The allowed origins as stored: each normalised, duplicates gone; any malformed one is a field error."""
    if len(raw) > MAX_ORIGINS:
        raise _invalid("allowed_origins", phrase("at most {n} origins", n=MAX_ORIGINS), "too_many")
    cleaned: list[str] = []
    for index, value in enumerate(raw):
        origin = origin_of(value)
        if origin is None:
            raise _invalid(
                f"allowed_origins.{index}",
                phrase("not an origin like https://www.example.com (scheme and host, no path)"),
                "invalid_origin",
            )
        if origin not in cleaned:
            cleaned.append(origin)
    return cleaned


def origin_allowed(allowed: list[str], origin: str | None) -> bool:
    """Whether a browser request's ``Origin`` is one of the inbox's; a request without one is not."""
    found = origin_of(origin) if origin else None
    return found is not None and found in allowed


def clean_colour(field: str, raw: str) -> str:
    if not _COLOUR.fullmatch(raw):
        raise _invalid(field, phrase("a colour like #1f6feb"), "invalid_colour")
    return raw.lower()


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise _invalid("name", phrase("must not be empty"), "required")
    return name[:200]


@dataclass(frozen=True)
class Visitor:
    """Who starts a chat, as the widget says: an optional identity (with its hash) and the pre-chat form."""

    user_id: str | None = None
    user_hash: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Admission:
    """How a visitor is let in: ``verified`` (the site vouched for the identity), else anonymous."""

    verified: bool
    email: str | None
    name: str


def admit(visitor: Visitor, *, secret: str, strict: bool, prechat_form: bool) -> Admission:
    """Who the visitor is for this inbox. An identity whose hash is wrong is refused (never downgraded to
    anonymous); strict mode refuses anyone without a verified identity; the pre-chat form makes the name and
    the email required of an anonymous visitor."""
    name = " ".join((visitor.name or "").split())[:300]
    if visitor.user_id or visitor.user_hash:
        if not visitor.user_id or not identity_matches(secret, visitor.user_id, visitor.user_hash or ""):
            raise _refused("identity.user_hash", phrase("the identity's hash does not match"), "identity_mismatch")
        if not visitor.email:
            raise _invalid("identity.email", phrase("a verified identity needs the user's email"), "required")
        return Admission(verified=True, email=visitor.email.strip().lower(), name=name)
    if strict:
        raise _refused("identity", phrase("this chat is for signed-in users only"), "identity_required")
    if prechat_form:
        missing = [field for field, value in (("name", name), ("email", visitor.email)) if not value]
        if missing:
            raise InvalidInput(
                phrase("the chat has invalid fields"),
                errors=[FieldError(field, phrase("must not be empty"), "required") for field in missing],
            )
    email = visitor.email.strip().lower() if visitor.email else None
    return Admission(verified=False, email=email, name=name)


def snippet(base_url: str, inbox_id: str) -> str:
    """The one ``<script>`` tag a site pastes before ``</body>``."""
    src = f"{base_url.rstrip('/')}/v1/conversations/widget.js"
    return f'<script src="{src}" data-inbox="{inbox_id}" async></script>'


def _invalid(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(phrase("the chat has invalid fields"), errors=[FieldError(field, message, code)])


def _refused(field: str, message: str, code: str) -> Forbidden:
    return Forbidden(phrase("this visitor may not chat here"), errors=[FieldError(field, message, code)])
