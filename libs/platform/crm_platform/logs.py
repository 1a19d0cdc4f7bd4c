"""JSON logs on stderr, each line carrying the service, the request id and the workspace."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from crm_platform import context


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = getattr(record, "service", self.service)
        record.request_id = context.current_request_id()
        caller = context.current_caller()
        record.workspace_id = caller.workspace_id if caller else None
        return True


def configure(service: str, level: str = "INFO") -> None:
    """Route every logger to one JSON handler; idempotent so tests and all-in-one can call it again."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_crm", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._crm = True  # type: ignore[attr-defined]
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s %(workspace_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(service))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("pika", "mail.log", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
