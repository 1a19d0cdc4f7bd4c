"""The delivery loop over several batches, on SQLite and on PostgreSQL (where a batch's commit runs while the next
batch is claimed and composed): each mail is sent once, the next batch's mail leaves only after the previous
batch is committed, and every row, attempt and event is written."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.events.v1 import mailer_pb2
from crm_events.mailer import MESSAGE_SENT
from crm_mailer.outbound import delivery
from crm_mailer.outbound.models import SENT, OutboundAttempt, OutboundMessage
from crm_mailer.outbound.transport import RecordingTransport
from crm_platform.events import payload_of
from tests.factories import mailer as mailer_factories
from tests.support.stack import ContactsPeer, RunningService


class CommittedAtEachSend(RecordingTransport):
    """Records, at each mail it sends, how many mails other connections already see as sent (committed)."""

    def __init__(self, api: RunningService) -> None:
        super().__init__()
        self.api = api
        self.committed_before: list[int] = []

    def send(self, data: bytes, *, mail_from: str, rcpt_to: str) -> None:
        with self.api.rt.database.engine.connect() as connection:
            self.committed_before.append(
                connection.scalar(select(func.count()).where(OutboundMessage.status == SENT)) or 0
            )
        super().send(data, mail_from=mail_from, rcpt_to=rcpt_to)


def test_mail_of_several_batches_is_sent_once_each_after_the_batch_before_is_committed(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    for n in range(5):
        mailer_factories.queued_comment_mail(mailer_api, contacts_peer_service, email=f"ana{n}@example.com")
    transport = CommittedAtEachSend(mailer_api)

    outcomes = delivery.deliver_due(
        mailer_api.rt.database, transport, delivery.Composer.of(mailer_api.rt), limit=10, batch=2
    )

    assert outcomes == {"sent": 5, "deferred": 0, "failed": 0}
    assert sorted(rcpt for _from, rcpt, _data in transport.envelopes) == [f"ana{n}@example.com" for n in range(5)]
    assert transport.committed_before == [0, 0, 2, 2, 4]  # a batch's mail leaves once the one before is committed
    with mailer_api.rt.database.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(OutboundMessage)))
        attempts = list(uow.session.scalars(select(OutboundAttempt)))
    assert [(row.status, row.attempts) for row in rows] == [(SENT, 1)] * 5
    assert sorted(attempt.message_id for attempt in attempts) == sorted(row.id for row in rows)
    sent = [payload_of(envelope, mailer_pb2.MessageSent) for envelope in mailer_api.outbox(MESSAGE_SENT.name)]
    assert sorted(event.message_id for event in sent) == sorted(row.id for row in rows)
    assert delivery.deliver_due(mailer_api.rt.database, transport, delivery.Composer.of(mailer_api.rt)) == {
        "sent": 0,
        "deferred": 0,
        "failed": 0,
    }
