"""The mailer's own settings (MAILER_*), read from the service's frozen settings."""

from __future__ import annotations

from email.utils import parseaddr

from crm_mailer.outbound.service import Sender
from crm_platform.settings import Settings, SettingsError


def sender_of(settings: Settings) -> Sender:
    address = settings.optional("MAILER_FROM", "CRM <no-reply@crm.localhost>") or ""
    _name, email = parseaddr(address)
    if "@" not in email:
        raise SettingsError(f"MAILER_FROM must be an address like 'Support <support@example.com>', got {address!r}")
    return Sender(address=address, domain=email.rsplit("@", 1)[1])
