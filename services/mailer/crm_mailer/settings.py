"""The mailer's own settings (MAILER_*), declared once and checked when a mailer process starts."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from crm_mailer.inbound.settings import InboundSettings
from crm_platform.settings import SettingsError, setting

DEFAULT_FROM = "CRM <no-reply@crm.localhost>"


@dataclass(frozen=True)
class MailerSettings(InboundSettings):
    """Everything the mailer reads; the inbound side's (MAILER_INBOUND_*) come from ``InboundSettings``."""

    smtp_host: str | None = setting("MAILER_SMTP_HOST", None, doc="outbound SMTP relay")
    smtp_port: int = setting("MAILER_SMTP_PORT", 25, doc="its port")
    smtp_username: str | None = setting("MAILER_SMTP_USERNAME", None, doc="login, when the relay wants one")
    smtp_password: str | None = setting("MAILER_SMTP_PASSWORD", None, doc="its password")
    smtp_starttls: bool = setting("MAILER_SMTP_STARTTLS", False, doc="upgrade the connection with STARTTLS")
    maildir: Path | None = setting("MAILER_MAILDIR", None, doc="without an SMTP host, a folder receiving the mail")
    from_address: str = setting("MAILER_FROM", DEFAULT_FROM, doc="sender; its domain names the Message-IDs")
    # Sender domains (crm_mailer/domains): their DKIM keys, the records they publish, and how they are checked.
    dkim_encryption_keys: str | None = setting(
        "MAILER_DKIM_ENCRYPTION_KEYS",
        None,
        doc="Fernet keys, comma-separated (the first encrypts), of the DKIM private keys; required in production",
    )
    generic_domain: str | None = setting(
        "MAILER_GENERIC_DOMAIN", None, doc="the platform's own sending domain (default: MAILER_FROM's domain)"
    )
    spf_include: str | None = setting(
        "MAILER_SPF_INCLUDE", None, doc="host sender domains include in SPF (default: _spf.<generic domain>)"
    )
    dns_resolver: str | None = setting(
        "MAILER_DNS_RESOLVER",
        None,
        doc="host[:port] of the DNS server records are checked with (default: the system's)",
    )
    # Outbound mail: the tokens in Reply-To, the envelope sender and unsubscribe links (crm_mailer/outbound).
    token_key: str | None = setting(
        "MAILER_TOKEN_KEY",
        None,
        doc="secret (32+ characters) signing reply, bounce and unsubscribe tokens; required in production",
    )
    public_url: str | None = setting(
        "MAILER_PUBLIC_URL",
        None,
        doc="https base URL of the mailer's API, for one-click unsubscribe links (none: mailto only)",
    )
    # Attachments (crm_mailer/attachments.py): inbound files kept here, outbound files fetched from their owners.
    attachments_dir: Path | None = setting(
        "MAILER_ATTACHMENTS_DIR", None, doc="folder keeping received attachments (none: in the mailer's database)"
    )
    attachments_max_bytes: int = setting(
        "MAILER_ATTACHMENTS_MAX_BYTES",
        10 * 1024 * 1024,
        doc="largest single attachment kept from inbound mail, or fetched for outbound mail",
    )
    attachments_total_max_bytes: int = setting(
        "MAILER_ATTACHMENTS_TOTAL_MAX_BYTES", 20 * 1024 * 1024, doc="all the attachments of one outbound mail"
    )
    dns_timeout_seconds: float = setting("MAILER_DNS_TIMEOUT_SECONDS", 5.0, doc="deadline of one DNS lookup")
    domain_recheck_seconds: int = setting(
        "MAILER_DOMAIN_RECHECK_SECONDS", 3600, doc="how often verified and failed domains are checked again"
    )
    pending_domain_recheck_seconds: int = setting(
        "MAILER_PENDING_DOMAIN_RECHECK_SECONDS", 300, doc="how often domains still pending are checked again"
    )

    def check(self) -> None:
        super().check()
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
        if self.dkim_encryption_keys:
            from crm_mailer.domains.dkim import parse_encryption_keys

            parse_encryption_keys(self.dkim_encryption_keys)
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            raise SettingsError(f"MAILER_PUBLIC_URL must be an http(s) URL, got {self.public_url!r}")
        if self.dns_resolver:
            from crm_mailer.domains.dns import parse_resolver

            parse_resolver(self.dns_resolver)
        for variable, size in (
            ("MAILER_ATTACHMENTS_MAX_BYTES", self.attachments_max_bytes),
            ("MAILER_ATTACHMENTS_TOTAL_MAX_BYTES", self.attachments_total_max_bytes),
        ):
            if size < 1:
                raise SettingsError(f"{variable} must be a positive number of bytes, got {size}")
        if self.attachments_dir is not None and not self.attachments_dir.is_dir():
            raise SettingsError(f"MAILER_ATTACHMENTS_DIR names no folder: {self.attachments_dir}")
        for variable, seconds in (
            ("MAILER_DNS_TIMEOUT_SECONDS", self.dns_timeout_seconds),
            ("MAILER_DOMAIN_RECHECK_SECONDS", self.domain_recheck_seconds),
            ("MAILER_PENDING_DOMAIN_RECHECK_SECONDS", self.pending_domain_recheck_seconds),
        ):
            if seconds <= 0:
                raise SettingsError(f"{variable} must be a positive number of seconds, got {seconds}")

    @property
    def sender_domain(self) -> str:
        return parseaddr(self.from_address)[1].rsplit("@", 1)[1]

    @property
    def platform_domain(self) -> str:
        """The generic domain mail is sent from when a workspace has no verified domain of its own."""
        return (self.generic_domain or self.sender_domain).strip().rstrip(".").lower()

    @property
    def spf_include_host(self) -> str:
        return (self.spf_include or f"_spf.{self.platform_domain}").strip().rstrip(".").lower()
