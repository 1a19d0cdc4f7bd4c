"""The outbound side's view of the mailer's settings: who the mail is from, and our own addresses' tokens."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from crm_mailer.outbound.service import Sender
from crm_mailer.outbound.tokens import TokenKey, key_for
from crm_mailer.settings import MailerSettings
from crm_platform.settings import Settings, SettingsError


def sender_of(settings: MailerSettings) -> Sender:
    return Sender(address=settings.from_address, domain=settings.sender_domain)


@dataclass(frozen=True)
class Addressing:
    """What the delivery path needs to write From, Reply-To, Return-Path and List-Unsubscribe."""

    token_key: TokenKey
    inbound_domain: str  # reply+TOKEN@, bounce+TOKEN@, unsubscribe+TOKEN@
    platform_domain: str  # From's domain for workspaces without a verified one
    local_part: str  # From's local part, MAILER_FROM's
    public_url: str | None  # base of the one-click unsubscribe link

    @classmethod
    def of(cls, settings: MailerSettings, platform: Settings) -> Addressing:
        if not settings.inbound_domain and platform.is_production:
            raise SettingsError(
                "MAILER_INBOUND_DOMAIN is required: the domain of reply+ and bounce+ addresses (its MX the mailer)"
            )
        local_part = parseaddr(settings.from_address)[1].rsplit("@", 1)[0]
        return cls(
            token_key=key_for(settings.token_key, platform),
            inbound_domain=settings.own_inbound_domain,
            platform_domain=settings.platform_domain,
            local_part=local_part,
            public_url=settings.public_url.rstrip("/") if settings.public_url else None,
        )
