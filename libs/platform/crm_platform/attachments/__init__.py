"""Attachments by reference: the service that received a file keeps its bytes (``store``), events and requests
carry an ``AttachmentRef`` (crm.platform.v1), others stream the bytes from the owner's ``Attachments`` gRPC
service (``grpc``, ``client``), and browsers download them with headers that never let them render (``http``).
Pure rules (filenames, types, limits, headers) are in ``rules``."""
