"""Files an outbound mail carries by reference: checked when the mail is asked for, fetched from the services
that keep them (crm.platform.v1.Attachments, streamed, size-limited, sha256-checked) when it is built.

A file that cannot be fetched now (its owner down, or not yet able to find it) defers the mail like a 4xx, so
it is tried again and, past the retries, fails with the reason; a file that can never be right (over the
limits, not the bytes its reference says) fails it at once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from crm.platform.v1 import attachments_pb2
from crm_mailer.outbound.transport import PermanentFailure, TemporaryFailure
from crm_platform import context, discovery
from crm_platform.attachments import client
from crm_platform.attachments.client import Fetcher
from crm_platform.attachments.rules import (
    AttachmentTooLarge,
    AttachmentUnavailable,
    Limits,
    download_type,
    is_sha256,
    sanitize_filename,
)
from crm_platform.context import Caller
from crm_platform.errors import FieldError, phrase

MAX_ATTACHMENTS = 20  # files one mail may carry
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
RETRYABLE = (client.UNAVAILABLE, client.NOT_FOUND)


class FetchDeferred(Exception):
    """A file could not be fetched now: the mail is tried again later (as after a 4xx)."""


class FetchRefused(Exception):
    """A file can never be attached as referenced: the mail fails with this reason."""


def as_row(ref: attachments_pb2.AttachmentRef) -> dict[str, Any]:
    """A reference as the outbound row keeps it (JSON)."""
    return {
        "service": ref.service,
        "attachment_id": ref.attachment_id,
        "filename": sanitize_filename(ref.filename),
        "content_type": ref.content_type,
        "size": int(ref.size),
        "sha256": ref.sha256.lower(),
    }


def of_row(value: dict[str, Any]) -> attachments_pb2.AttachmentRef:
    return attachments_pb2.AttachmentRef(**value)


def field_errors(refs: Sequence[attachments_pb2.AttachmentRef], limits: Limits) -> list[FieldError]:
    """What is wrong with the references a request carries, before anything is queued."""
    errors: list[FieldError] = []
    if len(refs) > MAX_ATTACHMENTS:
        errors.append(FieldError("attachments", phrase("at most {n} attachments", n=MAX_ATTACHMENTS), "too_many"))
        return errors
    for index, ref in enumerate(refs):
        where = f"attachments[{index}]"
        if not discovery.NAME.fullmatch(ref.service or ""):
            errors.append(FieldError(f"{where}.service", phrase("must name a service"), "invalid"))
        if not _ID.fullmatch(ref.attachment_id or ""):
            errors.append(FieldError(f"{where}.attachment_id", phrase("must be an id"), "invalid"))
        if not is_sha256(ref.sha256.lower()):
            errors.append(FieldError(f"{where}.sha256", phrase("must be a hex sha256 digest"), "invalid"))
        if ref.size < 0 or ref.size > limits.max_bytes:
            errors.append(
                FieldError(f"{where}.size", phrase("must be at most {n} bytes", n=limits.max_bytes), "too_large")
            )
    total = sum(max(ref.size, 0) for ref in refs)
    if limits.max_total_bytes is not None and total > limits.max_total_bytes:
        errors.append(
            FieldError(
                "attachments", phrase("must be at most {n} bytes together", n=limits.max_total_bytes), "too_large"
            )
        )
    return errors


@dataclass(frozen=True)
class Attacher:
    """Fetches a mail's files and adds them to it (the mail becomes multipart/mixed)."""

    fetcher: Fetcher
    limits: Limits

    def attach(self, mail: EmailMessage, *, workspace_id: str, rows: Sequence[dict[str, Any]] | None) -> None:
        if not rows:
            return
        refs = [of_row(row) for row in rows]
        try:
            self.limits.check_total([ref.size for ref in refs])
        except AttachmentTooLarge as exc:
            raise FetchRefused(str(exc)) from exc
        # The delivery worker acts on its own, for the mail's workspace: the owners scope their answer to it.
        acting = Caller(workspace_id=workspace_id, user_id="system:mailer", role="system")
        with context.bound(caller=acting):
            for ref in refs:
                mail.add_attachment(
                    self._bytes(ref), *_types(ref.content_type), filename=sanitize_filename(ref.filename)
                )

    def _bytes(self, ref: attachments_pb2.AttachmentRef) -> bytes:
        try:
            with self.fetcher.fetch(ref, limits=Limits(self.limits.max_bytes)) as spool:
                return spool.read()
        except AttachmentTooLarge as exc:
            raise FetchRefused(f"attachment {ref.attachment_id}: {exc}") from exc
        except AttachmentUnavailable as exc:
            if exc.extra.get("reason") in RETRYABLE:
                raise FetchDeferred(str(exc)) from exc
            raise FetchRefused(str(exc)) from exc


def _types(content_type: str) -> tuple[str, str]:
    maintype, _, subtype = download_type(content_type).partition("/")
    return maintype, subtype


def attach(attacher: Attacher, mail: EmailMessage, message: Any) -> None:
    """The one call the composer makes: the files added, or the attempt's outcome as the transports say it
    (``TemporaryFailure``: tried again later; ``PermanentFailure``: the mail fails with the reason)."""
    try:
        attacher.attach(mail, workspace_id=message.workspace_id, rows=message.attachments)
    except FetchDeferred as exc:
        raise TemporaryFailure(f"attachment not fetched: {exc}") from exc
    except FetchRefused as exc:
        raise PermanentFailure(f"attachment refused: {exc}") from exc
