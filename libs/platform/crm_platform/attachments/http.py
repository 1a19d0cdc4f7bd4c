"""Downloading a stored file over HTTP, streamed, with headers under which no browser renders or runs it."""

from __future__ import annotations

from flask import Response

from crm_platform.attachments.rules import download_headers
from crm_platform.attachments.store import AttachmentStore, StoredAttachment


def download(store: AttachmentStore, stored: StoredAttachment) -> Response:
    """The file as a download (``Content-Disposition: attachment``, ``nosniff``, a CSP allowing nothing, an
    active type answered as ``application/octet-stream``), its bytes streamed from the store."""
    headers = download_headers(stored.filename, stored.content_type, stored.size)
    content_type = headers.pop("Content-Type")
    return Response(store.chunks(stored), content_type=content_type, headers=headers, direct_passthrough=True)
