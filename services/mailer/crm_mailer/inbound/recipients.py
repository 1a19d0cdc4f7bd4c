"""Which of our inbound addresses a recipient is: a workspace's own, or one carrying a token.

A workspace's address is ``<workspace id>@<inbound domain>`` (a support address on the workspace's own domain
forwards there); ``reply+TOKEN@``, ``bounce+TOKEN@`` and ``unsubscribe+TOKEN@`` at the same domain carry the
sending side's tokens. Anything else, at any other domain, is not ours and is refused at RCPT time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crm_mailer.inbound import tokens
from crm_platform.ids import is_uuid

RecipientKind = Literal["workspace", "reply", "bounce", "unsubscribe"]


@dataclass(frozen=True)
class Recipient:
    address: str  # lower-cased
    kind: RecipientKind
    value: str  # the workspace id, or the token


def recipient_of(address: str, *, inbound_domain: str) -> Recipient | None:
    """The inbound address ``address`` names, or None when it is not one of ours."""
    cleaned = address.strip().strip("<>").strip()
    if cleaned.count("@") != 1:
        return None
    local, domain = cleaned.rsplit("@", 1)
    if domain.lower().rstrip(".") != inbound_domain.lower().rstrip("."):
        return None
    for kind in tokens.KINDS:
        token = tokens.token_in(cleaned, kind)
        if token is not None:
            return Recipient(cleaned.lower(), kind, token)  # type: ignore[arg-type]
    if is_uuid(local) and len(local) == 36:
        return Recipient(cleaned.lower(), "workspace", local.lower())
    return None


def workspace_address(workspace_id: str, *, inbound_domain: str) -> str:
    return f"{workspace_id}@{inbound_domain.lower().rstrip('.')}"
