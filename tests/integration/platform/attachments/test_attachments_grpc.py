"""Attachments.Read between two services over gRPC on loopback: streamed into a spooled file, authenticated
and scoped to the caller's workspace, refused past the limit and unless the bytes are the reference's."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from crm.platform.v1 import attachments_pb2
from crm_platform import context
from crm_platform.attachments.client import AttachmentFetcher
from crm_platform.attachments.rules import AttachmentTooLarge, AttachmentUnavailable, Limits
from crm_platform.context import Caller
from crm_platform.grpc_client import GrpcClients
from crm_platform.ids import new_id

from .conftest import Owner

WORKSPACE = new_id()
LIMITS = Limits(max_bytes=1024 * 1024)


def acting_for(workspace_id: str) -> context.Caller:
    return Caller(workspace_id=workspace_id, user_id="system:mailer", role="system")


def fetch(
    owner: Owner,
    ref: attachments_pb2.AttachmentRef,
    *,
    workspace_id: str = WORKSPACE,
    service: str = "mailer",
    limits: Limits = LIMITS,
) -> bytes:
    with context.bound(caller=acting_for(workspace_id)), owner.fetcher(service).fetch(ref, limits=limits) as spool:
        return spool.read()


def reason_of(error: pytest.ExceptionInfo[AttachmentUnavailable]) -> str:
    return str(error.value.extra["reason"])


def test_the_mailer_streams_a_file_of_its_workspace(owner: Owner) -> None:
    data = os.urandom(200 * 1024 + 3)
    stored = owner.put(data, workspace_id=WORKSPACE)

    assert fetch(owner, stored.ref()) == data


def test_a_file_of_another_workspace_is_not_found(owner: Owner) -> None:
    stored = owner.put(b"%PDF-1.7 theirs", workspace_id=new_id())

    with pytest.raises(AttachmentUnavailable) as error:
        fetch(owner, stored.ref())
    assert reason_of(error) == "not_found"


def test_a_service_not_declared_as_a_reader_is_refused(owner: Owner) -> None:
    stored = owner.put(b"%PDF-1.7 ours", workspace_id=WORKSPACE)

    with pytest.raises(AttachmentUnavailable) as error:
        fetch(owner, stored.ref(), service="reports")
    assert reason_of(error) == "not_found"  # PERMISSION_DENIED: never read, never retried into success
    assert "may not call" in str(error.value)


def test_a_call_without_a_workspace_is_refused(owner: Owner) -> None:
    stored = owner.put(b"%PDF-1.7 ours", workspace_id=WORKSPACE)

    with pytest.raises(AttachmentUnavailable) as error, owner.fetcher().fetch(stored.ref(), limits=LIMITS):
        pass
    assert "UNAUTHENTICATED" in str(error.value)


def test_a_reference_announcing_more_than_the_limit_is_refused_before_fetching(owner: Owner) -> None:
    stored = owner.put(b"z" * 5000, workspace_id=WORKSPACE)

    with pytest.raises(AttachmentTooLarge):
        fetch(owner, stored.ref(), limits=Limits(max_bytes=4999))


def test_a_stream_longer_than_its_reference_is_cut(owner: Owner) -> None:
    stored = owner.put(b"z" * 200_000, workspace_id=WORKSPACE)
    lying = stored.ref()
    lying.size = 1000

    with pytest.raises(AttachmentUnavailable) as error:
        fetch(owner, lying)
    assert reason_of(error) == "mismatch"


def test_bytes_that_do_not_match_the_references_sha256_are_refused(owner: Owner) -> None:
    stored = owner.put(b"the real bytes", workspace_id=WORKSPACE)
    wrong = stored.ref()
    wrong.sha256 = hashlib.sha256(b"other bytes").hexdigest()

    with pytest.raises(AttachmentUnavailable) as error:
        fetch(owner, wrong)
    assert reason_of(error) == "mismatch"


def test_an_owner_that_does_not_answer_is_unavailable(owner: Owner) -> None:
    stored = owner.put(b"bytes", workspace_id=WORKSPACE)
    gone = stored.ref()
    gone.service = "conversations"  # no target configured for it

    with pytest.raises(AttachmentUnavailable) as error:
        fetch(owner, gone)
    assert reason_of(error) == "unavailable"


def test_one_server_serves_the_stores_of_several_services_as_all_in_one_mode_runs_them(tmp_path: Path) -> None:
    from crm_platform.attachments import grpc as attachments_grpc
    from crm_platform.grpc_server import GrpcServer
    from crm_platform.metrics import for_service
    from crm_platform.settings import load
    from tests.support.stack import service_env

    from .conftest import store_on

    tickets_files = store_on(f"sqlite:///{tmp_path}/t.db")
    conversations_files = store_on(f"sqlite:///{tmp_path}/c.db")
    conversations_files.service = "conversations"
    server = GrpcServer(
        [
            (attachments_grpc.binding(tickets_files, callers=("mailer",)), for_service("tickets")),
            (attachments_grpc.binding(conversations_files, callers=("mailer",)), for_service("conversations")),
        ],
        address="127.0.0.1:0",
        settings=load("tickets", service_env("tickets", f"sqlite:///{tmp_path}/x.db", tmp_path)),
    )
    server.start()
    try:
        owner = Owner(store=tickets_files, target=f"127.0.0.1:{server.port}", tmp_path=tmp_path)
        from_tickets = owner.put(b"ticket file", workspace_id=WORKSPACE)
        with conversations_files.database.unit_of_work() as uow:
            from_conversations = conversations_files.put(
                uow.session, b"chat file", workspace_id=WORKSPACE, filename="c.txt", content_type="text/plain"
            )
            uow.commit()
        env = service_env("mailer", f"sqlite:///{tmp_path}/m.db", tmp_path)
        env |= {"CRM_TICKETS_GRPC_TARGET": owner.target, "CRM_CONVERSATIONS_GRPC_TARGET": owner.target}
        fetcher = AttachmentFetcher(GrpcClients(load("mailer", env)))
        with context.bound(caller=acting_for(WORKSPACE)):
            got = [fetcher.fetch(ref, limits=LIMITS).read() for ref in (from_tickets.ref(), from_conversations.ref())]
    finally:
        server.stop(grace=0)

    assert got == [b"ticket file", b"chat file"]


def test_a_service_bound_twice_without_a_way_to_merge_is_refused() -> None:
    from crm_platform.grpc_server import merged
    from crm_platform.metrics import for_service
    from crm_platform.service import GrpcBinding

    twice = GrpcBinding("crm.x.v1.X", lambda servicer, server: None, object())

    with pytest.raises(ValueError, match="bound twice"):
        merged([(twice, for_service("tickets")), (twice, for_service("tickets"))])
