"""Threading a person's message: token, then references, then ticket number, then subject, else new."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from crm_mailer.inbound import parse, threads
from crm_mailer.inbound.threads import InMemoryThreadLookups
from tests.unit.mailer.inbound import corpus

NOW = datetime(2024, 6, 4, 12, 0, tzinfo=UTC)
REPLY = parse.parse(corpus.raw("gmail_es_reply.eml"))  # token tk_8f3a2c91e7, In-Reply-To, [#2e3f4a5b]
ORIGINAL_ID = "<0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@mail.acme.test>"
SENDER = "ana.ruiz.garcia@gmail.com"


def everything() -> InMemoryThreadLookups:
    return InMemoryThreadLookups(
        tokens={"tk_8f3a2c91e7": "by-token"},
        message_ids={ORIGINAL_ID: "by-references"},
        tickets={"2e3f4a5b": "by-ticket"},
        subjects={(SENDER, "la impresora no imprime"): [(NOW - timedelta(days=2), "by-subject")]},
    )


def decide(message=REPLY, lookups=None, days: int = 7):  # type: ignore[no-untyped-def]
    return threads.thread_of(message, lookups or everything(), now=NOW, subject_window_days=days)


def test_the_reply_token_wins_over_every_other_clue() -> None:
    decision = decide()

    assert (decision.thread_id, decision.rule) == ("by-token", "reply_token")
    assert "tk_8f3a2c91e7" in decision.why


def test_an_unknown_token_falls_through_to_the_references() -> None:
    lookups = everything()
    lookups.tokens.clear()

    decision = decide(lookups=lookups)

    assert (decision.thread_id, decision.rule) == ("by-references", "references")
    assert decision.tried == ("reply token tk_8f3a2c91e7",)


def test_the_ticket_number_in_the_subject_comes_next() -> None:
    lookups = everything()
    lookups.tokens.clear()
    lookups.message_ids.clear()

    assert decide(lookups=lookups).rule == "ticket_number"
    new_mail = parse.parse(corpus.raw("gmail_es_new_with_ticket.eml"))  # [#2E3F4A5B], no references
    assert decide(new_mail).thread_id == "by-ticket"


def test_the_same_subject_from_the_same_contact_joins_only_within_the_window() -> None:
    lookups = InMemoryThreadLookups(subjects=everything().subjects)

    assert decide(lookups=lookups).rule == "subject"
    assert decide(lookups=lookups, days=1).rule == "new"
    stranger = replace(REPLY, from_=replace(REPLY.from_, email="otra@example.com"))  # type: ignore[type-var]
    assert decide(stranger, lookups=lookups).rule == "new"


def test_nothing_known_starts_a_new_conversation_and_says_what_was_tried() -> None:
    decision = decide(lookups=InMemoryThreadLookups())

    assert decision.is_new and decision.rule == "new"
    assert decision.tried == (
        "reply token tk_8f3a2c91e7", "1 message id(s)", "ticket [#2e3f4a5b]", "subject 'la impresora no imprime'"
    )  # fmt: skip


def test_references_are_tried_newest_first() -> None:
    message = parse.parse(corpus.raw("thunderbird_en_reply.eml"))
    seen: list[tuple[str, ...]] = []

    class Recording(InMemoryThreadLookups):
        def by_message_ids(self, message_ids):  # type: ignore[no-untyped-def]
            seen.append(tuple(message_ids))
            return None

    decide(message, lookups=Recording())

    assert seen == [
        (
            "<0190a1b2-c3d4-7e5f-8a9b-00000000f067@mail.acme.test>",
            "<0190a1b2-c3d4-7e5f-8a9b-00000000f066@mail.acme.test>",
        )
    ]
