"""Figure 5: the inbound core (parse, classify, reply extraction, threading) against the standard library's
email parser alone, over the mail corpus of the tests, in this process: no SMTP, database or broker."""

from __future__ import annotations

import email
import statistics
import time
from datetime import UTC, datetime
from email import policy

from support.infra import ROOT, BenchError
from support.report import Measure, note

CORPUS = ROOT / "tests" / "fixtures" / "mail"
TARGET_PER_SECOND = 200  # the inbound target, SMTP and routing included; this is its CPU share


def _corpus() -> list[bytes]:
    messages = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
    if not messages:
        raise BenchError(f"no .eml files in {CORPUS}")
    return messages


def inbound_bench(runs: int, passes: int, lines: list[str]) -> tuple[Measure, Measure]:
    """``runs`` interleaved runs of ``passes`` over the corpus each: the median rate of each side, and the median of
    the runs' ratios."""
    from crm_mailer.inbound import parse, reply, rules, threads

    messages = _corpus()
    lookups = threads.InMemoryThreadLookups(tickets={"2e3f4a5b": "t-1"})
    now = datetime(2024, 6, 4, tzinfo=UTC)

    def ours() -> float:
        started = time.perf_counter()
        for _ in range(passes):
            for raw in messages:
                message = parse.parse(raw)
                classification = rules.classify(message)
                if classification.kind == "person":
                    reply.extract_reply(message)
                    threads.thread_of(message, lookups, now=now, subject_window_days=7)
                rules.may_auto_reply(message, classification=classification)
        return time.perf_counter() - started

    def stdlib(chosen: policy.Policy = policy.default) -> float:
        started = time.perf_counter()
        for _ in range(passes):
            for raw in messages:
                email.message_from_bytes(raw, policy=chosen)
        return time.perf_counter() - started

    ours(), stdlib()  # warm-up: imports, regex compilation, the reply parser
    mine, theirs, compat = [], [], []
    for _ in range(runs):  # interleaved, so all three see the same machine
        mine.append(ours())
        theirs.append(stdlib())
        compat.append(stdlib(policy.compat32))
    count = passes * len(messages)
    note(
        f"{len(messages)} corpus messages x {passes} passes, {runs} runs; per run: inbound "
        + ", ".join(f"{count / s:,.0f}" for s in mine)
        + " msg/s; stdlib "
        + ", ".join(f"{count / s:,.0f}" for s in theirs)
        + " msg/s; stdlib with policy=compat32 (what parse.py builds on) "
        + f"{count / statistics.median(compat):,.0f} msg/s (median)"
    )
    figure = Measure("inbound parse+classify+reply+thread", count, statistics.median(mine))
    baseline = Measure("stdlib email.message_from_bytes(policy=default)", count, statistics.median(theirs))
    # each run's ratio is of two passes interleaved on the same machine state: their median is steadier than the
    # ratio of the two medians
    ratio = statistics.median(
        stdlib_seconds / our_seconds for our_seconds, stdlib_seconds in zip(mine, theirs, strict=True)
    )
    verdict = "PASS" if figure.rate >= TARGET_PER_SECOND else "MISS"
    line = (
        f"{figure.text('msg/s')} | {baseline.text('msg/s')} | ratio {ratio:.2f} (medians of {runs} runs); "
        f"target >= {TARGET_PER_SECOND} msg/s {verdict}"
    )
    lines.append(line)
    print(line, flush=True)
    return figure, baseline
