"""Spam complaints: Abuse Reporting Format feedback reports (RFC 5965, multipart/report;
report-type=feedback-report), as mailbox providers' feedback loops send them."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import getaddresses

from crm_mailer.inbound.message import Fields, InboundMessage
from crm_mailer.inbound.parse import message_ids

# A recipient who says "not spam", or a report about authentication, is no complaint against the address.
NOT_A_COMPLAINT = ("not-spam", "auth-failure")


@dataclass(frozen=True)
class Complaint:
    feedback_type: str  # abuse, fraud, virus, other, not-spam, auth-failure, ...
    recipients: tuple[str, ...]  # who complained: Original-Rcpt-To, else the returned message's To
    user_agent: str = ""
    original_mail_from: str = ""
    original_message_id: str | None = None
    source_ip: str = ""

    @property
    def deactivates(self) -> bool:
        return self.feedback_type not in NOT_A_COMPLAINT


def _all(group: Fields, name: str) -> tuple[str, ...]:
    wanted = name.lower()
    return tuple(value for key, value in group if key.lower() == wanted)


def from_arf(message: InboundMessage) -> Complaint | None:
    report = message.report
    if report is None or report.report_type != "feedback-report" or not report.groups:
        return None
    fields = report.groups[0]

    def one(name: str) -> str:
        values = _all(fields, name)
        return values[0].strip() if values else ""

    recipients = tuple(
        dict.fromkeys(value.strip().strip("<>").lower() for value in _all(fields, "Original-Rcpt-To") if "@" in value)
    )
    if not recipients:  # providers that redact Original-Rcpt-To often leave the To of the returned message
        recipients = tuple(
            dict.fromkeys(address.lower() for _name, address in getaddresses(list(_all(report.original, "To"))))
        )
        recipients = tuple(address for address in recipients if "@" in address)
    ids = message_ids(next(iter(_all(report.original, "Message-ID")), None))
    return Complaint(
        feedback_type=(one("Feedback-Type") or "other").lower(),
        recipients=recipients,
        user_agent=one("User-Agent"),
        original_mail_from=one("Original-Mail-From").strip("<>"),
        original_message_id=ids[0] if ids else None,
        source_ip=one("Source-IP"),
    )
