"""The outbound side's view of the mailer's settings: who the mail is from."""

from __future__ import annotations

from crm_mailer.outbound.service import Sender
from crm_mailer.settings import MailerSettings


def sender_of(settings: MailerSettings) -> Sender:
    return Sender(address=settings.from_address, domain=settings.sender_domain)
