"""A contact's facts as the funnel counts them: stocks in and out of stages, won and lost, stays and their times."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_events import contacts
from crm_reports.facts import FactRow
from crm_reports.funnel import rules
from crm_reports.funnel.handlers import FUNNEL
from crm_reports.workspaces import Context

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CONTEXT = Context("ws")


def fact(kind: Any, hours: float, n: int, **attrs: str) -> FactRow:
    return FactRow(f"e{n:03}", "ws", kind.name, "c1", T0 + timedelta(hours=hours), attrs.get("owner_id", ""), attrs)


def created(
    hours: float = 0, *, stage: str = "new", owner: str = "ana", source: str = "web", status: str = "active"
) -> FactRow:
    snapshot = {"type": "contact", "stage_id": stage, "status": status, "owner_id": owner, "source_id": source}
    return fact(contacts.CONTACT_CREATED, hours, int(hours * 10), **snapshot)


def moved(hours: float, to: str, *, owner: str = "ana") -> FactRow:
    return fact(
        contacts.CONTACT_STAGE_CHANGED,
        hours,
        int(hours * 10),
        to_stage_id=to,
        contact_type="contact",
        owner_id=owner,
        status="active",
    )


def status(hours: float, to: str, *, owner: str = "ana", stage: str = "") -> FactRow:
    return fact(contacts.CONTACT_STATUS_CHANGED, hours, int(hours * 10), to_status=to, owner_id=owner, stage_id=stage)


def totals(found: list[FactRow], metric: str) -> Counter[tuple[str, str]]:
    """Sum per (dimension, member) of one metric's contributions: what the rollups would hold over all days."""
    counts: Counter[tuple[str, str]] = Counter()
    for item in FUNNEL.derive(found, CONTEXT).contributions:
        if item.metric == metric:
            counts[(item.dimension, item.member_id)] += item.count
    return +counts


def test_a_new_contact_is_in_its_stage_and_type_for_its_owner() -> None:
    found = [created()]
    assert totals(found, rules.OPEN_STAGE) == {("new", "ana"): 1}
    assert totals(found, rules.OPEN_TYPE) == {("contact", "ana"): 1}
    assert totals(found, rules.CREATED) == {("contact", "ana"): 1}


def test_moving_on_leaves_the_old_stage_and_enters_the_next() -> None:
    found = [created(), moved(5, "qualified")]
    assert totals(found, rules.OPEN_STAGE) == {("qualified", "ana"): 1}
    assert totals(found, rules.ENTERED) == {("new", "ana"): 1, ("qualified", "ana"): 1}
    assert totals(found, rules.EXITED) == {("new>qualified", "ana"): 1}


def test_a_won_contact_leaves_the_stages_and_counts_as_won_for_every_stage_it_passed() -> None:
    found = [created(), moved(5, "qualified"), status(8, "won", stage="qualified")]
    assert totals(found, rules.OPEN_STAGE) == {}
    assert totals(found, rules.OPEN_TYPE) == {}
    assert totals(found, rules.WON) == {("contact", "ana"): 1}
    assert totals(found, rules.EXITED) == {("new>qualified", "ana"): 1, ("qualified>won", "ana"): 1}
    assert totals(found, rules.WON_AFTER) == {("new", "ana"): 1, ("qualified", "ana"): 1}


def test_time_in_each_stage_is_measured_when_the_contact_leaves_it() -> None:
    found = [created(), moved(5, "qualified"), status(8, "lost")]
    stays = [(row.dimension, row.seconds, row.at) for row in FUNNEL.derive(found, CONTEXT).durations]
    assert stays == [("new", 5 * 3600.0, T0 + timedelta(hours=5)), ("qualified", 3 * 3600.0, T0 + timedelta(hours=8))]
    assert totals(found, rules.LOST) == {("contact", "ana"): 1}


def test_a_contact_still_in_a_stage_has_no_time_in_it_yet() -> None:
    assert FUNNEL.derive([created()], CONTEXT).durations == []


def test_an_owner_change_moves_the_contact_to_the_new_owners_figures() -> None:
    found = [created(), fact(contacts.CONTACT_OWNER_CHANGED, 2, 20, to_owner_id="bea")]
    assert totals(found, rules.OPEN_STAGE) == {("new", "bea"): 1}
    assert totals(found, rules.ENTERED) == {("new", "ana"): 1}  # a stay counts for whom it entered with


def test_a_reopened_contact_enters_its_stage_again() -> None:
    found = [created(), status(1, "lost"), status(3, "active")]
    assert totals(found, rules.OPEN_STAGE) == {("new", "ana"): 1}
    assert totals(found, rules.ENTERED) == {("new", "ana"): 2}
    assert [row.seq for row in FUNNEL.derive(found, CONTEXT).durations] == [0]


def test_deleted_and_merged_contacts_leave_the_funnel_for_good() -> None:
    for removal in (contacts.CONTACT_DELETED, contacts.CONTACT_MERGED):
        found = [created(), fact(removal, 2, 20), moved(3, "qualified")]
        assert totals(found, rules.OPEN_STAGE) == {}
        assert totals(found, rules.OPEN_TYPE) == {}
        assert totals(found, rules.CREATED) == {("contact", "ana"): 1}


def test_an_update_snapshot_places_the_contact_where_it_says() -> None:
    snapshot = {"type": "collaborator", "stage_id": "c1", "status": "active", "owner_id": "bea", "source_id": "web"}
    found = [created(), fact(contacts.CONTACT_UPDATED, 1, 10, **snapshot)]
    assert totals(found, rules.OPEN_TYPE) == {("collaborator", "bea"): 1}
    assert totals(found, rules.OPEN_STAGE) == {("c1", "bea"): 1}


def test_an_older_event_without_the_new_fields_keeps_what_was_known() -> None:
    found = [created(), fact(contacts.CONTACT_STAGE_CHANGED, 1, 10, to_stage_id="qualified")]
    assert totals(found, rules.OPEN_STAGE) == {("qualified", "ana"): 1}


def test_facts_in_any_order_of_arrival_give_the_same_contributions() -> None:
    found = [created(), moved(5, "qualified"), status(8, "won")]
    in_order = FUNNEL.derive(found, CONTEXT)
    from crm_reports.facts import in_order as ordered

    assert FUNNEL.derive(ordered(list(reversed(found))), CONTEXT) == in_order
