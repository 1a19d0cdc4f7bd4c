"""Fixtures every integration test may use: each service started for real (tests/support/services.py)."""

from tests.support.services import (  # noqa: F401 - fixtures
    contacts_api,
    contacts_peer_service,
    conversations_api,
    mailer_api,
    reports_api,
    tickets_api,
)
