"""The mailer's own settings (MAILER_*), declared once and checked when a mailer process starts."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from crm_platform.settings import SettingsError, setting

DEFAULT_FROM = "CRM <no-reply@crm.localhost>"


@dataclass(frozen=True)
class MailerSettings:
    smtp_host: str | None = setting("MAILER_SMTP_HOST", None, doc="outbound SMTP relay")
    smtp_port: int = setting("MAILER_SMTP_PORT", 25, doc="its port")
    smtp_username: str | None = setting("MAILER_SMTP_USERNAME", None, doc="login, when the relay wants one")
    smtp_password: str | None = setting("MAILER_SMTP_PASSWORD", None, doc="its password")
    smtp_starttls: bool = setting("MAILER_SMTP_STARTTLS", False, doc="upgrade the connection with STARTTLS")
    maildir: Path | None = setting("MAILER_MAILDIR", None, doc="without an SMTP host, a folder receiving the mail")
    from_address: str = setting("MAILER_FROM", DEFAULT_FROM, doc="sender; its domain names the Message-IDs")

    def check(self) -> None:
        if not self.smtp_host and self.maildir is None:
            raise SettingsError(
                "set MAILER_SMTP_HOST (an SMTP relay) or MAILER_MAILDIR (a folder) so the mailer can deliver"
            )
        if not 0 < self.smtp_port < 65536:
            raise SettingsError(f"MAILER_SMTP_PORT must be a TCP port, got {self.smtp_port}")
        _name, email = parseaddr(self.from_address)
        if "@" not in email:
            raise SettingsError(
                f"MAILER_FROM must be an address like 'Support <support@example.com>', got {self.from_address!r}"
            )

    @property
    def sender_domain(self) -> str:
        return parseaddr(self.from_address)[1].rsplit("@", 1)[1]
