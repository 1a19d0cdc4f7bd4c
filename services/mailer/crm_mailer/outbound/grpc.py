"""gRPC API of the mailer, for the other services."""

from __future__ import annotations

from typing import Any

from crm.mailer.v1 import mailer_pb2, mailer_pb2_grpc
from crm_mailer.outbound import represent, service
from crm_platform import context
from crm_platform.service import Runtime


class MailerServicer(mailer_pb2_grpc.MailerServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def GetDeliveryBySourceEvent(  # noqa: N802
        self, request: mailer_pb2.GetDeliveryBySourceEventRequest, _context: Any
    ) -> mailer_pb2.Delivery:
        caller = context.require_caller()
        message = service.get_by_source_event(
            self.rt.database.unit_of_work(), caller=caller, source_event_id=request.source_event_id
        )
        return represent.delivery(message)
