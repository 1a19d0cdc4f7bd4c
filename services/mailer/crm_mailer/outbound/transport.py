"""Where mail goes: an SMTP relay (microservices mode) or a Maildir folder (all-in-one mode)."""

from __future__ import annotations

import mailbox
import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from crm_mailer.settings import MailerSettings


class TemporaryFailure(Exception):
    """The server said try later (4xx) or could not be reached."""


class PermanentFailure(Exception):
    """The server refused the message for good (5xx)."""


class Transport(Protocol):
    def send(self, mail: EmailMessage) -> None: ...


class RecordingTransport:
    """Transport in memory, for use cases' unit tests: keeps every mail it accepts in ``sent``. Like an SMTP
    server answering 5xx or 4xx, it refuses the addresses in ``refused`` for good (PermanentFailure) and
    defers those in ``deferred`` (TemporaryFailure). tests/integration/platform/test_fakes.py holds it to the
    real transports' behaviour."""

    def __init__(self, *, refused: Iterable[str] = (), deferred: Iterable[str] = ()) -> None:
        self.sent: list[EmailMessage] = []
        self.refused, self.deferred = set(refused), set(deferred)

    def send(self, mail: EmailMessage) -> None:
        recipient = str(mail["To"])
        if recipient in self.refused:
            raise PermanentFailure(f"recipient refused: {recipient}")
        if recipient in self.deferred:
            raise TemporaryFailure(f"recipient deferred: {recipient}")
        self.sent.append(mail)


class SmtpTransport:
    def __init__(self, host: str, port: int, *, username: str | None, password: str | None, starttls: bool) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls = starttls

    def send(self, mail: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
            raise TemporaryFailure(f"recipient deferred: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise TemporaryFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"SMTP {self.host}:{self.port}: {exc!r}") from exc


class MaildirTransport:
    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, mail: EmailMessage) -> None:
        try:
            for folder in ("tmp", "new", "cur"):  # mailbox.Maildir only creates them with the root itself
                (self.path / folder).mkdir(parents=True, exist_ok=True)
            mailbox.Maildir(self.path, create=False).add(mail)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to Maildir {self.path}: {exc!r}") from exc


def from_settings(settings: MailerSettings) -> Transport:
    """The SMTP relay when one is set, else the Maildir (``MailerSettings.check`` makes sure one is)."""
    if settings.smtp_host:
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    assert settings.maildir is not None
    return MaildirTransport(settings.maildir)
