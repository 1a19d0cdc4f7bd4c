"""What a mail message's facts amount to, and the mail report's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from crm_reports.facts import FactRow
from crm_reports.mail import represent, rules
from crm_reports.mail.rules import BOUNCED, BOUNCED_KIND, DELIVERED, SENT, SENT_KIND, SUPPRESSED, SUPPRESSED_KIND

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def fact(fact_kind: str, days: float, **attrs: Any) -> FactRow:
    return FactRow(f"e-{fact_kind}-{days}", "ws", fact_kind, "message-1", T0 + timedelta(days=days), "", attrs)


def contributions(*found: FactRow) -> list[tuple[str, datetime, str]]:
    return sorted((c.metric, c.at, c.dimension) for c in rules.derive(list(found)).contributions)


def test_a_sent_message_without_a_bounce_is_delivered_on_its_sent_day() -> None:
    assert contributions(fact(SENT_KIND, 0, kind="ticket_comment")) == [
        (DELIVERED, T0, "ticket_comment"),
        (SENT, T0, "ticket_comment"),
    ]


def test_a_later_bounce_takes_the_message_out_of_delivered_and_counts_on_its_own_day() -> None:
    found = contributions(fact(SENT_KIND, 0, kind="direct"), fact(BOUNCED_KIND, 2, kind="hard"))

    assert found == [(BOUNCED, T0 + timedelta(days=2), "hard"), (SENT, T0, "direct")]


def test_a_bounce_refused_at_sending_counts_with_no_sent() -> None:
    assert contributions(fact(BOUNCED_KIND, 0, kind="hard")) == [(BOUNCED, T0, "hard")]


def test_a_suppressed_message_counts_by_reason() -> None:
    assert contributions(fact(SUPPRESSED_KIND, 0, reason="inactive:hard_bounce")) == [
        (SUPPRESSED, T0, "inactive:hard_bounce")
    ]


def test_a_bounce_finds_its_message_by_the_mailers_id_or_the_message_id_made_from_it() -> None:
    assert rules.message_subject("m-1", "<m-1@mail.example>") == "m-1"
    assert rules.message_subject("", "<0b7d6a0c-2f11-4f5e-9d43-5b1f3f0e8a3c@mail.example>") == (
        "0b7d6a0c-2f11-4f5e-9d43-5b1f3f0e8a3c"
    )
    foreign = rules.message_subject("", "<CAF=very-long-id-from-another-mail-system+abc@gmail.com>")
    assert len(foreign) == 36 and foreign == rules.message_subject(
        "", "<CAF=very-long-id-from-another-mail-system+abc@gmail.com>"
    )


def test_the_figures_split_bounces_hard_and_soft_and_give_the_delivered_share() -> None:
    in_range = [
        (SENT, "ticket_comment", 8, 0.0),
        (SENT, "direct", 2, 0.0),
        (DELIVERED, "ticket_comment", 7, 0.0),
        (DELIVERED, "direct", 2, 0.0),
        (BOUNCED, "hard", 1, 0.0),
        (BOUNCED, "mailbox_full", 2, 0.0),
        (BOUNCED, "soft", 1, 0.0),
    ]
    per_day = [(SENT, date(2026, 5, 1), 10, 0.0)]

    figures_, tables, charts = represent.build(
        in_range, per_day, start=date(2026, 5, 1), end=date(2026, 5, 2), bucket="day"
    )

    values = {f.key: f.value for f in figures_}
    assert (values["sent"], values["delivered"], values["bounced"]) == (10, 9, 4)
    assert (values["bounced_hard"], values["bounced_soft"], values["delivery_rate"]) == (1, 3, 0.9)
    kinds = {row["kind"]: row["delivery_rate"] for row in next(t for t in tables if t.key == "by_kind").rows}
    assert kinds == {"direct": 1.0, "ticket_comment": 7 / 8}
    over_time = next(c for c in charts if c.key == "over_time")
    assert over_time.categories == ["2026-05-01", "2026-05-02"]
    assert dict(over_time.series)["Sent"] == [10, 0]


def test_no_mail_sent_has_no_delivered_share_rather_than_zero() -> None:
    figures_, _tables, _charts = represent.build([], [], start=date(2026, 5, 1), end=date(2026, 5, 1), bucket="day")

    assert next(f for f in figures_ if f.key == "delivery_rate").value is None
