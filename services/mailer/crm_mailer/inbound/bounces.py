"""Delivery status notifications: who failed, hard or soft, with which status code.

Standard DSNs (RFC 3464, multipart/report; report-type=delivery-status) are read field by field. Anything
else that looks like a bounce (null sender, a mail daemon, our bounce token) is given to flufl.bounce, GNU
Mailman's detectors for the non-standard formats (qmail, old Exchange, Yahoo, GroupWise, ...).

Hard or soft, by the status code (RFC 3463) and the action: a permanent failure of the address itself
(5.1.x bad mailbox or domain, 5.2.x mailbox disabled, 5.4.4 no route, a bare 5.0.0) is hard; a full mailbox
(x.2.2, or the words for it) is ``mailbox_full``; a permanent refusal of the message or the sender rather
than the address (5.3, 5.5, 5.6, 5.7: too big, content, policy, spam reputation) and every 4.x.x are soft, as
they say nothing against the address; ``delayed``/``delivered``/``relayed``/``expanded`` are no failure.
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from email import policy
from typing import Literal

from crm_mailer.inbound import tokens
from crm_mailer.inbound.message import Fields, InboundMessage
from crm_mailer.inbound.parse import message_ids

Severity = Literal["hard", "soft", "none"]

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY_CODE = re.compile(r"\b([245])\d\d\b")
_MAILBOX_FULL = re.compile(
    r"mailbox (?:is )?full|over ?quota|quota exceeded|exceeded (?:the |their |his |her )?(?:storage )?quota|"
    r"insufficient (?:system )?storage|buz[oó]n (?:del destinatario )?(?:est[aá] )?lleno|cuota excedida",
    re.IGNORECASE,
)
_POLICY = re.compile(r"spam|blocked|block ?list|blacklist|reputation|policy|rejected for|bloqueado", re.IGNORECASE)
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mail.delivery.system")
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status notification|failure|has failed)|mail delivery failed|"
    r"returned mail|failure notice|non remis|no se puede entregar|no entregado|error de entrega|"
    r"devuelto|nondeliverable|delivery notification",
    re.IGNORECASE,
)
_MESSAGE_ID_LINE = re.compile(r"^message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bounce:
    recipient: str
    severity: Severity
    mailbox_full: bool = False
    status: str | None = None  # enhanced status code, e.g. "5.1.1"
    action: str | None = None  # failed, delayed, delivered, relayed, expanded
    diagnostic: str = ""  # the remote server's words
    remote_mta: str = ""
    detected_by: str = "dsn"  # dsn, or the flufl.bounce detector that found it

    @property
    def event_kind(self) -> str | None:
        """What mailer.delivery.bounced carries (hard, mailbox_full, soft); None when nothing failed."""
        if self.severity == "none":
            return None
        if self.severity == "hard":
            return "mailbox_full" if self.mailbox_full else "hard"
        return "soft"


def _field(group: Fields, name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in group if key.lower() == wanted), "")


def _typed_address(value: str) -> str:
    """``rfc822; Ana@Example.com`` -> ``ana@example.com`` (the address type is optional in the wild)."""
    address = value.split(";", 1)[1] if ";" in value else value
    return address.strip().strip("<>").strip().lower()


def _status_of(status: str, diagnostic: str) -> str | None:
    """The most specific enhanced status: a generic X.0.0 gives way to the diagnostic's code of the same class."""
    declared = _STATUS.search(status)
    detailed = _STATUS.search(diagnostic)
    if declared and detailed and declared.group(2, 3) == ("0", "0") and detailed.group(1) == declared.group(1):
        return detailed.group(0)
    if declared:
        return declared.group(0)
    if detailed:
        return detailed.group(0)
    reply = _REPLY_CODE.search(diagnostic)
    return f"{reply.group(1)}.0.0" if reply else None


def severity_of(status: str | None, action: str | None, diagnostic: str = "") -> tuple[Severity, bool]:
    """(hard/soft/none, mailbox full?) for one recipient; see the module's docstring for the rule."""
    action = (action or "").strip().lower()
    full = bool(_MAILBOX_FULL.search(diagnostic)) or bool(status and status.split(".")[1:] == ["2", "2"])
    if action in ("delayed", "delivered", "relayed", "expanded"):
        return "none", full
    if status is None:
        return ("hard" if action == "failed" else "soft"), full
    klass, subject, detail = status.split(".")
    if klass == "2":
        return "none", full
    if klass == "4":
        return "soft", full
    if full:
        return "hard", True
    if subject == "1" or (subject == "2" and detail != "3") or (subject, detail) == ("4", "4"):
        return "hard", False
    if (subject, detail) == ("0", "0"):
        return ("soft" if _POLICY.search(diagnostic) else "hard"), False
    return "soft", False


def from_dsn(groups: tuple[Fields, ...]) -> tuple[Bounce, ...]:
    """The per-recipient blocks of a message/delivery-status part."""
    found: list[Bounce] = []
    for group in groups:
        final = _field(group, "Final-Recipient") or _field(group, "Original-Recipient")
        if not final:
            continue  # the per-message block, or a broken one
        diagnostic = _field(group, "Diagnostic-Code")
        diagnostic_text = diagnostic.split(";", 1)[1].strip() if ";" in diagnostic else diagnostic.strip()
        action = _field(group, "Action").strip().lower() or None
        status = _status_of(_field(group, "Status"), diagnostic_text)
        severity, full = severity_of(status, action, diagnostic_text)
        remote = _field(group, "Remote-MTA")
        found.append(
            Bounce(
                recipient=_typed_address(final) or _typed_address(_field(group, "Original-Recipient")),
                severity=severity,
                mailbox_full=full,
                status=status,
                action=action,
                diagnostic=diagnostic_text,
                remote_mta=remote.split(";", 1)[-1].strip(),
            )
        )
    return tuple(found)


@dataclass(frozen=True)
class Suspicion:
    why: str
    conclusive: bool  # a null sender or a mail daemon sent it: a bounce even when no recipient can be read


def looks_like_bounce(message: InboundMessage) -> Suspicion | None:
    """Why a message that is no standard DSN may still be a bounce, or None."""
    if message.envelope.mail_from is not None and message.envelope.mail_from.strip("<> ") == "":
        return Suspicion("null envelope sender", conclusive=True)
    if message.from_ is not None and message.from_.local_part.startswith(_DAEMONS):
        return Suspicion(f"sent by {message.from_.local_part}", conclusive=True)
    if tokens.find_token(message, "bounce") is not None:
        return Suspicion("sent to a bounce address", conclusive=True)
    if _BOUNCE_SUBJECT.search(message.subject):  # a person may write "undelivered parcel" too
        return Suspicion("a bounce's subject", conclusive=False)
    return None


def from_flufl(message: InboundMessage) -> tuple[Bounce, ...]:
    """flufl.bounce's reading of a non-standard bounce; the status code is looked for next to each address."""
    try:
        parsed = email.message_from_bytes(message.raw, policy=policy.compat32)
    except Exception:  # noqa: BLE001 - parse.py read it already; this copy is only for the detectors
        return ()
    temporary, permanent = _flufl_failures(parsed)
    text = message.text or ""
    found: list[Bounce] = []
    for raw_address, permanent_failure in [(a, True) for a in sorted(permanent)] + [
        (a, False) for a in sorted(temporary - permanent)
    ]:
        address = raw_address.decode("ascii", "replace").strip().strip("<>").lower()
        if "@" not in address:
            continue
        where = text.lower().find(address)
        near = text[where : where + 400] if where >= 0 else ""
        status = _status_of("", near)
        severity, full = severity_of(status, "failed", near)
        if not permanent_failure:  # flufl's temporary failures are warnings: the server keeps trying, as "delayed"
            severity = "none"
        found.append(
            Bounce(
                recipient=address,
                severity=severity,
                mailbox_full=full,
                status=status,
                action="failed" if permanent_failure else "delayed",
                diagnostic=" ".join(near.split())[:300],
                detected_by="flufl.bounce",
            )
        )
    return tuple(found)


def _flufl_failures(parsed: email.message.Message) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """flufl.bounce's ``all_failures``, one detector at a time: its detectors raise on some malformed bounces (an
    empty From, 8-bit headers), and ``all_failures`` then gives up on the detectors after the one that raised."""
    from flufl.bounce import _scan

    detectors = getattr(_scan, "_DETECTORS", None)
    if detectors is None:  # another layout of the package: its own loop, all or nothing
        try:
            return _scan.all_failures(parsed)
        except Exception:  # noqa: BLE001 - a detector that chokes finds nothing
            return frozenset(), frozenset()
    for detector in detectors:
        try:
            temporary, permanent = detector().process(parsed)
        except Exception:  # logged, as flufl.bounce itself does, but the next detector still runs
            log.debug("flufl.bounce detector %s failed", detector.__name__, exc_info=True)
            continue
        if temporary or permanent:
            return frozenset(temporary), frozenset(permanent)
    return frozenset(), frozenset()


def original_message_id(message: InboundMessage) -> str | None:
    """The Message-ID of the message that bounced: from the returned headers, else from a copy in the text."""
    if message.report is not None:
        ids = message_ids(_field(message.report.original, "Message-ID"))
        if ids:
            return ids[0]
    for match in _MESSAGE_ID_LINE.finditer(message.text or ""):
        if match.group(1) != message.message_id:
            return match.group(1)
    return None
