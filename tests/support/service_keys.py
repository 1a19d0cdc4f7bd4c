"""Service keys for tests: one fixed Ed25519 key per service, and the gRPC credentials a service sends."""

from __future__ import annotations

import base64
import hashlib

from crm_platform import discovery
from crm_platform.service_tokens import SERVICE_TOKEN_METADATA, ServiceTokenMinter, format_trusted, public_key_of


def private_key(service: str) -> str:
    """A key derived from the service's name: the same in every test process, useless anywhere else."""
    seed = hashlib.sha256(f"crm-tests-service-key-{service}".encode()).digest()
    return base64.urlsafe_b64encode(seed).rstrip(b"=").decode()


def env(trusted: tuple[str, ...] | None = None) -> dict[str, str]:
    """The key settings of every service (each loads only its own private key), trusting ``trusted`` (all)."""
    trusted = discovery.names() if trusted is None else trusted
    keys = {f"{service.upper()}_SERVICE_KEY": private_key(service) for service in discovery.names()}
    return keys | {"CRM_TRUSTED_SERVICE_KEYS": format_trusted({s: [public_key_of(private_key(s))] for s in trusted})}


def credentials(
    caller: str, audience: str, *, workspace_id: str | None = None, user_token: str | None = None
) -> list[tuple[str, str]]:
    """The metadata ``caller`` sends to ``audience`` (a protobuf service): acting for ``workspace_id`` on
    its own, or forwarding an end user's ``user_token``."""
    metadata = [(SERVICE_TOKEN_METADATA, ServiceTokenMinter(caller, private_key(caller)).token(audience, workspace_id))]
    if user_token is not None:
        metadata.append(("authorization", f"Bearer {user_token}"))
    return metadata
