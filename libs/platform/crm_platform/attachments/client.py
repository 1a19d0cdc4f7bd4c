"""Fetching a file another service keeps: streamed from its ``Attachments`` service into a spooled temporary
file (in memory while small, on disk after), refused past the limit and unless the bytes are the reference's
(size and sha256)."""

from __future__ import annotations

import hashlib
import tempfile
from typing import IO, Protocol

import grpc

from crm.platform.v1 import attachments_pb2, attachments_pb2_grpc
from crm_platform.attachments.grpc import SERVICE_NAME
from crm_platform.attachments.rules import AttachmentUnavailable, Limits, is_sha256, too_large
from crm_platform.errors import Unauthenticated
from crm_platform.grpc_client import GrpcClients, call_metadata

SPOOL_IN_MEMORY = 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 60.0  # for the whole stream: a file is larger than a call's usual answer
# Why a fetch failed (AttachmentUnavailable.extra["reason"]): the first two may pass, the others will not.
UNAVAILABLE, NOT_FOUND, MISMATCH, REFUSED = "unavailable", "not_found", "mismatch", "refused"


class Fetcher(Protocol):
    def fetch(self, ref: attachments_pb2.AttachmentRef, *, limits: Limits) -> IO[bytes]:
        """The file's bytes, positioned at the start; the caller closes it."""
        ...


def unavailable(ref: attachments_pb2.AttachmentRef, reason: str, why: str) -> AttachmentUnavailable:
    return AttachmentUnavailable(
        f"attachment {ref.attachment_id} of {ref.service or '?'}: {why}",
        extra={"reason": reason, "attachment_id": ref.attachment_id},
    )


class AttachmentFetcher:
    """Reads files from their owners over gRPC, with this process's credentials (the caller's token when the
    work started from a user's request, else a service token for the workspace the work is for)."""

    def __init__(self, clients: GrpcClients, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.clients = clients
        self.timeout = timeout

    def fetch(self, ref: attachments_pb2.AttachmentRef, *, limits: Limits) -> IO[bytes]:
        if not ref.service or not ref.attachment_id:
            raise unavailable(ref, REFUSED, "the reference names no service or no attachment")
        if not is_sha256(ref.sha256):
            raise unavailable(ref, REFUSED, "the reference carries no sha256 digest")
        limits.check_declared(ref.size, what=f"attachment {ref.attachment_id}")
        try:
            stub = self.clients.stub(ref.service, attachments_pb2_grpc.AttachmentsStub, SERVICE_NAME, ())
            metadata = call_metadata(self.clients.minter, SERVICE_NAME)
        except Unauthenticated as exc:
            raise unavailable(ref, UNAVAILABLE, exc.detail) from exc
        except Exception as exc:
            raise unavailable(ref, UNAVAILABLE, str(exc)) from exc
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        try:
            self._read(stub, metadata, ref, limits, spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def _read(
        self,
        stub: object,
        metadata: list[tuple[str, str]],
        ref: attachments_pb2.AttachmentRef,
        limits: Limits,
        spool: IO[bytes],
    ) -> None:
        digest, size = hashlib.sha256(), 0
        stream = stub.Read(  # type: ignore[attr-defined]
            attachments_pb2.ReadAttachmentRequest(ref=ref), timeout=self.timeout, metadata=metadata
        )
        try:
            for chunk in stream:
                size += len(chunk.data)
                if size > limits.max_bytes or size > ref.size:
                    stream.cancel()
                    if size > limits.max_bytes:
                        raise too_large(f"attachment {ref.attachment_id}", limits.max_bytes)
                    raise unavailable(ref, MISMATCH, f"more bytes than the {ref.size} its reference says")
                digest.update(chunk.data)
                spool.write(chunk.data)
        except grpc.RpcError as exc:
            code = exc.code()  # type: ignore[attr-defined]
            detail = exc.details() or code.name  # type: ignore[attr-defined]
            if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
                raise unavailable(ref, NOT_FOUND, detail) from exc
            raise unavailable(ref, UNAVAILABLE, f"{code.name} {detail}") from exc
        if size != ref.size:
            raise unavailable(ref, MISMATCH, f"{size} bytes, not the {ref.size} its reference says")
        if digest.hexdigest() != ref.sha256:
            raise unavailable(ref, MISMATCH, "the bytes do not match the reference's sha256")
