"""The inbound side's settings (MAILER_INBOUND_*): parsing limits, soft bounces, threading by subject."""

from __future__ import annotations

from dataclasses import dataclass

from crm_mailer.inbound.message import ParseLimits
from crm_platform.settings import SettingsError, setting


@dataclass(frozen=True)
class InboundSettings:
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
        if self.subject_window_days < 0:
            raise SettingsError(f"MAILER_INBOUND_SUBJECT_WINDOW_DAYS must be 0 or more, got {self.subject_window_days}")

    @property
    def limits(self) -> ParseLimits:
        return ParseLimits(max_bytes=self.max_bytes, max_depth=self.max_depth, max_parts=self.max_parts)
