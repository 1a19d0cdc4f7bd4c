"""MAILER_INBOUND_PROCESSING=worker: the listener only stores what arrives (the 250 once it is committed), and the
worker processes claim the stored messages from the database, never one another's, never one that failed before
(that one is ``process_stored``'s, a while later)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import select, update

from crm_mailer.inbound import smtp
from crm_mailer.inbound.loop import process_inbound_forever
from crm_mailer.inbound.message import Envelope
from crm_mailer.inbound.models import STORED, InboundMessageRow
from tests.support.infra import free_port

from .conftest import Inbound, crlf
from .test_smtp_inbound import person_mail


def test_with_processing_in_workers_the_listener_only_stores_and_a_worker_loop_processes(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    rt = inbound.mailer.rt
    workers = replace(rt, service_settings=replace(rt.service_settings, inbound_processing="worker"))
    listener = smtp.listen(workers, host="127.0.0.1", port=free_port())
    try:
        with smtp_client(int(listener.controller.port)) as client:
            client.mail("ana@example.com")
            client.rcpt(inbound.address(acme))
            code, text = client.data(crlf(person_mail()))
        assert code == 250
        stored = text.decode().rsplit(" ", 1)[-1]
        time.sleep(0.5)
        assert status_of(inbound, stored) == STORED  # the listener did not process it

        stop = threading.Event()
        worker = threading.Thread(target=process_inbound_forever, args=(workers, stop))
        worker.start()
        try:
            assert inbound.processed(stored).status == "routed"
        finally:
            stop.set()
            worker.join(10)
        assert not worker.is_alive()
    finally:
        listener.stop()


def test_a_worker_takes_the_stored_messages_no_other_holds_and_leaves_those_that_failed(inbound: Inbound) -> None:
    database = inbound.mailer.rt.database
    if database.engine.dialect.name != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    acme = inbound.contacts.workspace()
    pipeline = smtp.pipeline_of(inbound.mailer.rt)
    to = (inbound.address(acme),)
    held, failed, free, other = pipeline.receive_many(
        [(person_mail(subject=f"n {n}"), Envelope(mail_from="ana@example.com", rcpt_to=to)) for n in range(4)],
        channel="smtp",
    )
    with database.unit_of_work() as uow:
        uow.session.execute(update(InboundMessageRow).where(InboundMessageRow.id == failed.id).values(error="boom"))
        uow.commit()

    with database.unit_of_work() as other_worker:  # another worker is processing this one
        other_worker.session.get(InboundMessageRow, held.id, with_for_update=True)
        claimed: list[int] = []
        taking = threading.Thread(target=lambda: claimed.append(pipeline.process_next(limit=50)))
        taking.start()
        taking.join(20)
        assert not taking.is_alive(), "the worker waited on a row another worker holds"

    assert claimed == [2]
    assert [status_of(inbound, row.id) for row in (held, failed, free, other)] == [STORED, STORED, "routed", "routed"]
    assert pipeline.process_next(limit=50) == 1  # released: taken now; the failed one still is not
    assert status_of(inbound, failed.id) == STORED


def status_of(inbound: Inbound, inbound_id: str) -> str:
    with inbound.mailer.rt.database.unit_of_work() as uow:
        return str(uow.session.scalar(select(InboundMessageRow.status).where(InboundMessageRow.id == inbound_id)))


def smtp_client(port: int):  # type: ignore[no-untyped-def]
    import smtplib

    client = smtplib.SMTP("127.0.0.1", port, timeout=10)
    client.ehlo("relay.test")
    return client
