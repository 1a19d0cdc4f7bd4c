"""The conversations service for the widget's tests, with contacts answering over gRPC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import ContactsPeer, RunningService, running


@pytest.fixture
def widget_api(database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer) -> Iterator[RunningService]:
    from crm_conversations.app import SERVICE

    with running(
        SERVICE,
        database_url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target,
        CONVERSATIONS_WIDGET_ATTACHMENT_MAX_BYTES="4096",
    ) as service:
        yield service


@pytest.fixture
def limited_api(database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer) -> Iterator[RunningService]:
    """Three requests a minute per visitor, five per inbox."""
    from crm_conversations.app import SERVICE

    with running(
        SERVICE,
        database_url,
        tmp_path,
        CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target,
        CONVERSATIONS_WIDGET_VISITOR_RATE_PER_MINUTE="3",
        CONVERSATIONS_WIDGET_INBOX_RATE_PER_MINUTE="5",
    ) as service:
        yield service
