"""Files over HTTP: an upload into a store (refused before it is read when its length is over the limit), and a
download streamed with headers under which no browser renders or runs it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request
from sqlalchemy.orm import Session

from crm_platform.attachments.rules import download_headers, too_large
from crm_platform.attachments.store import AttachmentStore, StoredAttachment
from crm_platform.errors import FieldError, InvalidInput, phrase
from crm_platform.limits import MULTIPART_ENVELOPE


def upload(
    store: AttachmentStore,
    session: Session,
    *,
    workspace_id: str,
    field: str = "file",
    owner_id: str | None = None,
    check_head: Callable[[bytes], None] | None = None,
) -> StoredAttachment:
    """The file of a ``multipart/form-data`` request's ``field``, stored in the caller's transaction. A body
    whose Content-Length is over the store's limit (and the multipart envelope) is refused (413) before it is
    parsed; the file is counted again as it is stored. Pair the view with ``@body_limit`` so the server does
    not buffer an oversized body either."""
    declared = request.content_length
    if declared is not None and declared > store.limits.max_bytes + MULTIPART_ENVELOPE:
        raise too_large("the file", store.limits.max_bytes)
    if request.mimetype != "multipart/form-data" or field not in request.files:
        raise InvalidInput(
            phrase("send the file as multipart/form-data"),
            errors=[FieldError(field, phrase("a file is required"), "required")],
        )
    sent = request.files[field]
    return store.put(
        session,
        sent.stream,
        workspace_id=workspace_id,
        filename=sent.filename,
        content_type=sent.mimetype,
        declared_size=sent.content_length or None,
        owner_id=owner_id,
        check_head=check_head,
    )


def download(store: AttachmentStore, stored: StoredAttachment) -> Response:
    """The file as a download (``Content-Disposition: attachment``, ``nosniff``, a CSP allowing nothing, an
    active type answered as ``application/octet-stream``), its bytes streamed from the store."""
    headers = download_headers(stored.filename, stored.content_type, stored.size)
    content_type = headers.pop("Content-Type")
    return Response(store.chunks(stored), content_type=content_type, headers=headers, direct_passthrough=True)
