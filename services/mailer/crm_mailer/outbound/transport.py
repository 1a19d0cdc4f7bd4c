"""Where mail goes: an SMTP relay (microservices mode) or a Maildir folder (all-in-one mode).

A transport sends bytes as they were built and signed (DKIM signs exact bytes) with an explicit envelope:
``mail_from`` (the per-message VERP address, the Return-Path bounces come back to) and one ``rcpt_to``.
"""

from __future__ import annotations

import mailbox
import re
import smtplib
import ssl
import threading
from collections.abc import Iterable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from crm_mailer.settings import MailerSettings


class TemporaryFailure(Exception):
    """The server said try later (4xx) or could not be reached."""


class PermanentFailure(Exception):
    """The server refused the message for good (5xx). ``recipient_refused``: the refusal named the recipient
    (RCPT TO answered 5xx), which makes it a hard bounce of that address."""

    def __init__(self, message: str, *, recipient_refused: bool = False) -> None:
        super().__init__(message)
        self.recipient_refused = recipient_refused


class Transport(Protocol):
    def send(self, data: bytes, *, mail_from: str, rcpt_to: str) -> None: ...


class RecordingTransport:
    """Transport in memory, for use cases' unit tests: keeps every mail it accepts in ``sent`` (parsed) and
    ``envelopes`` (mail_from, rcpt_to, bytes). Like an SMTP server answering 5xx or 4xx to RCPT TO, it refuses
    the addresses in ``refused`` for good (PermanentFailure) and defers those in ``deferred``
    (TemporaryFailure). tests/integration/platform/test_fakes.py holds it to the real transports' behaviour."""

    def __init__(self, *, refused: Iterable[str] = (), deferred: Iterable[str] = ()) -> None:
        self.sent: list[EmailMessage] = []
        self.envelopes: list[tuple[str, str, bytes]] = []
        self.refused, self.deferred = set(refused), set(deferred)

    def send(self, data: bytes, *, mail_from: str, rcpt_to: str) -> None:
        if rcpt_to in self.refused:
            raise PermanentFailure(f"550 recipient refused: {rcpt_to}", recipient_refused=True)
        if rcpt_to in self.deferred:
            raise TemporaryFailure(f"451 recipient deferred: {rcpt_to}")
        self.envelopes.append((mail_from, rcpt_to, data))
        self.sent.append(message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default))  # type: ignore[arg-type]


class SmtpTransport:
    """SMTP to a relay over one connection kept open across messages (and opened again when the server
    closed it). STARTTLS whenever the server offers it, required when ``starttls`` says so; login when
    credentials are set. One sender at a time: the delivery loop is a single thread."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None,
        password: str | None,
        starttls: bool,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout
        self.tls_context = tls_context
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()
        self.connections = 0  # opened so far, for the tests of reuse

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
                smtp.ehlo()
            elif self.starttls:
                raise TemporaryFailure(f"SMTP {self.host}:{self.port} does not offer STARTTLS, which is required")
            if self.username:
                try:
                    smtp.login(self.username, self.password or "")
                except smtplib.SMTPException as exc:  # our credentials, not the message: retried once fixed
                    raise TemporaryFailure(f"SMTP {self.host}:{self.port} refused the login: {exc!r}") from exc
        except BaseException:
            smtp.close()
            raise
        self.connections += 1
        return smtp

    def close(self) -> None:
        with self._lock:
            self._drop(quit_first=True)

    def _drop(self, *, quit_first: bool = False) -> None:
        if self._smtp is None:
            return
        try:
            if quit_first:
                self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self._smtp.close()
            self._smtp = None

    def send(self, data: bytes, *, mail_from: str, rcpt_to: str) -> None:
        with self._lock:
            try:
                self._send(data, mail_from, rcpt_to)
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset()
                codes = [code for code, _ in exc.recipients.values()]
                if all(500 <= code < 600 for code in codes):
                    raise PermanentFailure(f"recipient refused: {exc.recipients}", recipient_refused=True) from exc
                raise TemporaryFailure(f"recipient deferred: {exc.recipients}") from exc
            except smtplib.SMTPResponseException as exc:
                self._reset()
                if 500 <= exc.smtp_code < 600:
                    raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
                raise TemporaryFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                raise TemporaryFailure(f"SMTP {self.host}:{self.port}: {exc!r}") from exc

    def _send(self, data: bytes, mail_from: str, rcpt_to: str) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
            sendmail(self._smtp, mail_from, rcpt_to, data)
            return
        try:
            sendmail(self._smtp, mail_from, rcpt_to, data)
        except smtplib.SMTPServerDisconnected:  # the relay closed the idle connection: once more on a new one
            self._drop()
            self._smtp = self._connect()
            sendmail(self._smtp, mail_from, rcpt_to, data)

    def _reset(self) -> None:
        """After a refusal the transaction is aborted (RSET), so the connection serves the next message."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


# An ASCII dot-atom address (RFC 5321 Mailbox without quoted local part or address literal): what the delivery
# loop's VERP senders and nearly every recipient are, and what smtplib's quoting leaves as it is, inside <>.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


def sendmail(smtp: smtplib.SMTP, mail_from: str, rcpt_to: str, data: bytes) -> None:
    """``smtp.sendmail(mail_from, [rcpt_to], data)``: the same commands, answers and exceptions, without parsing
    each address with the email package's ``parseaddr`` (a third of the client's CPU for a message) when both
    are plain addresses (``_PLAIN_ADDRESS``), which that parsing would return unchanged; others go through
    ``sendmail`` itself."""
    if not (_PLAIN_ADDRESS.fullmatch(mail_from) and _PLAIN_ADDRESS.fullmatch(rcpt_to)):
        smtp.sendmail(mail_from, [rcpt_to], data)
        return
    smtp.ehlo_or_helo_if_needed()
    size = f" size={len(data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    smtp.putcmd("mail", f"FROM:<{mail_from}>{size}")
    code, answer = smtp.getreply()
    if code != 250:
        _abort(smtp, code)
        raise smtplib.SMTPSenderRefused(code, answer, mail_from)
    smtp.putcmd("rcpt", f"TO:<{rcpt_to}>")
    code, answer = smtp.getreply()
    if code not in (250, 251):
        _abort(smtp, code)
        raise smtplib.SMTPRecipientsRefused({rcpt_to: (code, answer)})
    code, answer = smtp.data(data)
    if code != 250:
        _abort(smtp, code)
        raise smtplib.SMTPDataError(code, answer)


def _abort(smtp: smtplib.SMTP, code: int) -> None:
    """As ``sendmail`` ends a refused transaction: closed when the server is closing (421), else RSET."""
    if code == 421:
        smtp.close()
    else:
        # smtplib's own RSET (private, absent from its stubs), which ignores a dropped connection, as sendmail ends
        smtp._rset()  # type: ignore[attr-defined]


class MaildirTransport:
    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, data: bytes, *, mail_from: str, rcpt_to: str) -> None:
        try:
            for folder in ("tmp", "new", "cur"):  # mailbox.Maildir only creates them with the root itself
                (self.path / folder).mkdir(parents=True, exist_ok=True)
            # Return-Path on top, as a delivering MTA writes it, so the envelope sender is kept; local line ends.
            stored = b"Return-Path: <" + mail_from.encode() + b">\n" + data.replace(b"\r\n", b"\n")
            mailbox.Maildir(self.path, create=False).add(stored)
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
