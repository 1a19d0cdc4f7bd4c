"""What a contact contributes to the sources report, from the funnel's timeline of it. Pure functions, no I/O.

``CONTACTS`` is a stock (+1 when a contact with a source appears or takes it, -1 when it leaves it or the
workspace): summed up to a date, the contacts per source then. ``CREATED`` and ``WON`` count when they
happened, for the source the contact had then (dimension "" for a contact without one)."""

from __future__ import annotations

from collections.abc import Sequence

from crm_reports.funnel import rules as funnel
from crm_reports.funnel.rules import Step
from crm_reports.rollups import Contribution

CONTACTS = "source_contacts"
CREATED = "source_created"
WON = "source_won"


def contributions(steps: Sequence[Step]) -> list[Contribution]:
    found: list[Contribution] = []
    for step in steps:
        before, after = step.before, step.after
        was = (before.source, before.owner) if before.exists else ("", "")
        now = (after.source, after.owner) if after.exists else ("", "")
        if was != now:
            if before.exists:
                found.append(Contribution(CONTACTS, step.at, before.owner, before.source, count=-1))
            if after.exists:
                found.append(Contribution(CONTACTS, step.at, after.owner, after.source, count=1))
        if after.exists and not before.exists:
            found.append(Contribution(CREATED, step.at, after.owner, after.source))
        if funnel.became(step, funnel.WON_STATUS):
            found.append(Contribution(WON, step.at, after.owner, after.source))
    return found
