"""The inbound side's settings (MAILER_INBOUND_*): the listener, parsing limits, soft bounces, threading, trust.

``MailerSettings`` extends this class, so every mailer process reads and checks them at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm_mailer.inbound.message import ParseLimits
from crm_platform.settings import SettingsError, setting

DEV_INBOUND_DOMAIN = "inbound.crm.localhost"  # outside production, without MAILER_INBOUND_DOMAIN


@dataclass(frozen=True)
class InboundSettings:
    inbound_domain: str | None = setting(
        "MAILER_INBOUND_DOMAIN",
        None,
        doc="domain of the inbound addresses (<workspace id>@, reply+/bounce+/unsubscribe+TOKEN@), whose MX is the"
        f" mailer; required in production (elsewhere {DEV_INBOUND_DOMAIN})",
    )
    inbound_smtp_host: str | None = setting(
        "MAILER_INBOUND_SMTP_HOST", None, doc="address the SMTP listener binds (default: CRM_LISTEN_HOST)"
    )
    inbound_smtp_port: int = setting("MAILER_INBOUND_SMTP_PORT", 2525, doc="port of the SMTP listener")
    inbound_tls_cert: Path | None = setting(
        "MAILER_INBOUND_TLS_CERT", None, doc="PEM certificate chain: with its key, the listener offers STARTTLS"
    )
    inbound_tls_key: Path | None = setting("MAILER_INBOUND_TLS_KEY", None, doc="the certificate's PEM private key")
    inbound_authserv_id: str | None = setting(
        "MAILER_INBOUND_AUTHSERV_ID",
        None,
        doc="authserv-id of the relay whose Authentication-Results are trusted (none: no header is trusted)",
    )
    inbound_auth_checks: bool = setting(
        "MAILER_INBOUND_AUTH_CHECKS",
        True,
        doc="check SPF, DKIM and DMARC of received mail ourselves (DNS through MAILER_DNS_RESOLVER); a trusted"
        " relay's results still count first",
    )
    inbound_dns_timeout_seconds: float = setting(
        "MAILER_INBOUND_DNS_TIMEOUT_SECONDS", 3.0, doc="deadline of one DNS lookup of those checks (then: temperror)"
    )
    inbound_dns_cache_seconds: int = setting(
        "MAILER_INBOUND_DNS_CACHE_SECONDS", 300, doc="longest a DNS answer is reused (its TTL, if shorter, wins)"
    )
    inbound_processing: str = setting(
        "MAILER_INBOUND_PROCESSING",
        "listener",
        doc="who processes stored mail: listener (a thread of the SMTP listener) or worker (the mailer's worker"
        " processes, claiming it from the database; the listener then only stores and answers)",
    )
    max_bytes: int = setting("MAILER_INBOUND_MAX_BYTES", 25 * 1024 * 1024, doc="larger mail is quarantined")
    max_depth: int = setting("MAILER_INBOUND_MAX_DEPTH", 20, doc="MIME nesting read before quarantine")
    max_parts: int = setting("MAILER_INBOUND_MAX_PARTS", 500, doc="MIME parts read before quarantine")
    soft_bounce_limit: int = setting(
        "MAILER_INBOUND_SOFT_BOUNCE_LIMIT", 3, doc="soft bounces in a row that turn an address off"
    )
    subject_window_days: int = setting(
        "MAILER_INBOUND_SUBJECT_WINDOW_DAYS", 7, doc="days a same-subject message from a contact joins its thread"
    )

    def check(self) -> None:
        for variable, value in (
            ("MAILER_INBOUND_MAX_BYTES", self.max_bytes),
            ("MAILER_INBOUND_MAX_DEPTH", self.max_depth),
            ("MAILER_INBOUND_MAX_PARTS", self.max_parts),
            ("MAILER_INBOUND_SOFT_BOUNCE_LIMIT", self.soft_bounce_limit),
        ):
            if value < 1:
                raise SettingsError(f"{variable} must be at least 1, got {value}")
        if self.inbound_processing not in ("listener", "worker"):
            raise SettingsError(
                f"MAILER_INBOUND_PROCESSING must be listener or worker, got {self.inbound_processing!r}"
            )
        if not 0 < self.inbound_smtp_port < 65536:
            raise SettingsError(f"MAILER_INBOUND_SMTP_PORT must be a TCP port, got {self.inbound_smtp_port}")
        domain = self.own_inbound_domain
        if not domain or "@" in domain or " " in domain or "." not in domain:
            raise SettingsError(f"MAILER_INBOUND_DOMAIN must be a domain name, got {self.inbound_domain!r}")
        if (self.inbound_tls_cert is None) != (self.inbound_tls_key is None):
            raise SettingsError("set both MAILER_INBOUND_TLS_CERT and MAILER_INBOUND_TLS_KEY, or neither")
        for variable, path in (
            ("MAILER_INBOUND_TLS_CERT", self.inbound_tls_cert),
            ("MAILER_INBOUND_TLS_KEY", self.inbound_tls_key),
        ):
            if path is not None and not path.is_file():
                raise SettingsError(f"{variable} names no file: {path}")
        if self.inbound_dns_timeout_seconds <= 0 or self.inbound_dns_cache_seconds < 0:
            raise SettingsError(
                "MAILER_INBOUND_DNS_TIMEOUT_SECONDS must be positive and MAILER_INBOUND_DNS_CACHE_SECONDS 0 or more,"
                f" got {self.inbound_dns_timeout_seconds} and {self.inbound_dns_cache_seconds}"
            )
        if self.subject_window_days < 0:
            raise SettingsError(f"MAILER_INBOUND_SUBJECT_WINDOW_DAYS must be 0 or more, got {self.subject_window_days}")

    @property
    def limits(self) -> ParseLimits:
        return ParseLimits(max_bytes=self.max_bytes, max_depth=self.max_depth, max_parts=self.max_parts)

    @property
    def own_inbound_domain(self) -> str:
        """The one inbound domain both sides use: the listener accepts it, outbound mail's tokens name it."""
        return (self.inbound_domain or DEV_INBOUND_DOMAIN).strip().rstrip(".").lower()
