"""Soft bounces of one address processed at the same time are each counted: the counter is one upsert
(``INSERT ... ON CONFLICT DO UPDATE SET in_a_row = in_a_row + 1``), not a read and a write that two transactions
can interleave (losing a count, or both inserting the first one)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from crm.events.v1 import mailer_pb2
from crm_events.mailer import DELIVERY_BOUNCED
from crm_mailer.inbound import smtp
from crm_mailer.inbound.message import Envelope
from crm_mailer.inbound.models import RECORDED, InboundMessageRow, SoftBounceRow
from crm_platform.events import payload_of

from .conftest import Inbound, crlf, fixture

ADDRESS = "pedidos@ferreteria-sol.example"  # the recipient postfix_dsn_soft.eml says was deferred


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # row locks: PostgreSQL's
@pytest.mark.parametrize("before", [0, 1])
def test_two_soft_bounces_processed_at_once_are_both_counted(inbound: Inbound, before: int) -> None:
    acme = inbound.contacts.workspace()
    pipeline = smtp.pipeline_of(inbound.mailer.rt)
    database = inbound.mailer.rt.database
    soft = crlf(fixture("postfix_dsn_soft.eml"))
    rows = pipeline.receive_many(  # stored, not handed to the listener's processing
        [(soft, Envelope(mail_from="", rcpt_to=(inbound.address(acme),)))] * (before + 2), channel="smtp"
    )
    for row in rows[:before]:
        assert pipeline.process(row.id) == RECORDED
    second, third = rows[before:]
    statuses: list[str] = []

    with database.unit_of_work() as uow:  # the second is processed in a transaction still open while ...
        row = uow.session.get(InboundMessageRow, second.id, with_for_update=True)
        assert row is not None
        pipeline._process(uow, row)
        # ... the third is processed on another thread (which waits for this one's counter, or does not)
        other = threading.Thread(target=lambda: statuses.append(pipeline.process(third.id)))
        other.start()
        other.join(timeout=1.0)
        uow.commit()
    other.join(timeout=10.0)

    assert statuses == [RECORDED]
    with database.unit_of_work() as uow:
        counted = uow.session.scalar(
            select(SoftBounceRow.in_a_row).where(SoftBounceRow.workspace_id == acme, SoftBounceRow.address == ADDRESS)
        )
    bounced = [payload_of(e, mailer_pb2.DeliveryBounced) for e in inbound.mailer.outbox(DELIVERY_BOUNCED.name)]
    if before + 2 < 3:  # under the limit (3): both counted, nothing announced
        assert (counted, bounced) == (before + 2, [])
    else:  # the third in a row turns the address off, and the count starts again
        assert counted is None
        assert [(b.recipient, b.kind) for b in bounced] in ([(ADDRESS, "hard")], [(ADDRESS, "mailbox_full")])
