"""The conversations' ``Attachments`` gRPC service: the mailer reads a message's files when it builds the mail."""

from __future__ import annotations

from crm_conversations.attachments import service
from crm_platform.attachments import grpc as attachments_grpc
from crm_platform.service import GrpcBinding, Runtime

READERS = ("mailer",)


def binding(rt: Runtime) -> GrpcBinding:
    return attachments_grpc.binding(service.store_of(rt), callers=READERS, authorize=service.require_readable)
