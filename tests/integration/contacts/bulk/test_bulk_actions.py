"""Bulk actions: queued as a job, run by the worker's loop in batches, with progress, events and history."""

from __future__ import annotations

from sqlalchemy import select

from crm.events.v1 import contacts_pb2
from crm_contacts.record.history import HistoryEntry
from crm_platform.events import payload_of
from tests.integration.contacts.support.lists import Tenant


def start(acme: Tenant, body: dict) -> dict:  # type: ignore[type-arg]
    answer = acme.post("/v1/contacts/bulk", json=body)
    assert answer.status_code == 202, answer.get_json()
    assert answer.headers["Location"] == f"/v1/contacts/jobs/{answer.get_json()['id']}"
    return answer.get_json()


def test_a_bulk_owner_change_over_a_filter_runs_in_the_worker_with_events_and_history(acme: Tenant) -> None:
    job = start(acme, {"filter": {"tag": "vip"}, "action": "set_owner", "value": acme.agent})
    assert (job["state"], job["kind"], job["processed"]) == ("queued", "bulk_update", 0)

    acme.run_jobs()

    done = acme.get(f"/v1/contacts/jobs/{job['id']}").get_json()
    assert (done["state"], done["total"], done["processed"], done["succeeded"], done["failed"]) == ("done", 2, 2, 2, 0)
    assert done["result"] == {"changed": 1, "unchanged": 1}  # Álvaro was already Marta's
    assert acme.names(acme.get(f"/v1/contacts?owner={acme.agent}")) == ["Álvaro Núñez", "Ana Ruiz"]
    [changed] = acme.api.outbox("contacts.contact.owner_changed")
    payload = payload_of(changed, contacts_pb2.ContactOwnerChanged)
    assert (payload.contact_id, payload.from_owner_id, payload.to_owner_id) == (
        acme.contacts["Ana Ruiz"],
        acme.admin,
        acme.agent,
    )
    assert len(acme.api.outbox("contacts.contact.updated")) == 1
    with acme.api.rt.database.unit_of_work() as uow:
        entries = uow.session.scalars(select(HistoryEntry).where(HistoryEntry.kind == "owner_changed")).all()
        assert [(e.contact_id, e.data["to"]) for e in entries] == [(acme.contacts["Ana Ruiz"], acme.agent)]


def test_a_bulk_stage_change_over_ids_reports_each_contact_it_could_not_change(acme: Tenant) -> None:
    negotiation = acme.stages[("contact", "Negotiation")]
    ids = [acme.contacts["Ana Ruiz"], acme.contacts["Bea de la Ruiz"], "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"]
    job = start(acme, {"ids": ids, "action": "set_stage", "value": negotiation})

    acme.run_jobs()

    done = acme.get(f"/v1/contacts/jobs/{job['id']}").get_json()
    assert (done["state"], done["total"], done["processed"], done["succeeded"], done["failed"]) == ("done", 3, 3, 1, 2)
    assert sorted((e["contact_id"], e["message"]) for e in done["errors"]) == sorted(
        [
            (acme.contacts["Bea de la Ruiz"], "the stage belongs to another contact type"),
            ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "contact not found"),
        ]
    )
    assert acme.names(acme.get(f"/v1/contacts?stage={negotiation}")) == ["Ana Ruiz"]
    [event] = acme.api.outbox("contacts.contact.stage_changed")
    moved = payload_of(event, contacts_pb2.ContactStageChanged)
    ana = acme.get(f"/v1/contacts/{acme.contacts['Ana Ruiz']}").get_json()
    assert (moved.contact_type, moved.owner_id, moved.source_id, moved.status) == (
        "contact",
        ana["owner_id"],
        ana["source_id"],
        ana["status"],
    )
    assert ana["owner_id"] and ana["source_id"]


def test_bulk_tags_and_status_follow_the_single_contact_rules(acme: Tenant) -> None:
    tags = start(acme, {"filter": {"owner": "me"}, "action": "add_tags", "value": ["Hot", "vip"]})
    status = start(acme, {"ids": list(acme.contacts.values()), "action": "set_status", "value": "lost"})

    acme.run_jobs()

    assert acme.names(acme.get("/v1/contacts?tag=hot,vip")) == ["Carlos Ortega", "Ana Ruiz"]
    assert acme.get(f"/v1/contacts/jobs/{tags['id']}").get_json()["succeeded"] == 2
    lost = acme.get(f"/v1/contacts/jobs/{status['id']}").get_json()
    assert (lost["succeeded"], lost["failed"]) == (3, 1)  # Álvaro is won: reopen first
    assert lost["errors"][0]["contact_id"] == acme.contacts["Álvaro Núñez"]
    assert len(acme.api.outbox("contacts.contact.status_changed")) == 1 + 3  # the fixture's win, then three
    for event in acme.api.outbox("contacts.contact.status_changed")[1:]:
        changed = payload_of(event, contacts_pb2.ContactStatusChanged)
        record = acme.get(f"/v1/contacts/{changed.contact_id}").get_json()
        assert (changed.owner_id, changed.source_id, changed.stage_id, changed.contact_type) == (
            record["owner_id"] or "",
            record["source_id"],
            record["stage_id"],
            record["type"],
        )


def test_bulk_values_are_checked_before_a_job_is_queued(acme: Tenant) -> None:
    cases = [
        ({"ids": ["x"], "action": "set_owner", "value": "not-a-member"}, "value"),
        ({"ids": ["x"], "action": "set_stage", "value": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}, "value"),
        ({"ids": ["x"], "action": "set_color", "value": "red"}, "value"),
        ({"ids": ["x"], "action": "paint", "value": 1}, "action"),
        ({"action": "set_emoji", "value": None}, "ids"),
        ({"filter": {"stars": "7"}, "action": "set_emoji", "value": None}, "filter.stars"),
    ]
    for body, field in cases:
        answer = acme.post("/v1/contacts/bulk", json=body)
        assert answer.status_code == 422, body
        assert answer.get_json()["errors"][0]["field"] == field, body


def test_colors_used_in_bulk_are_remembered_most_recent_first(acme: Tenant) -> None:
    for color in ("#FF0000", "#00ff00", "#ff0000"):
        start(acme, {"filter": {"name": "ana"}, "action": "set_color", "value": color})
    acme.run_jobs()

    assert acme.get("/v1/contacts/colors/recent").get_json() == {"items": ["#ff0000", "#00ff00"]}
    assert acme.get(f"/v1/contacts/{acme.contacts['Ana Ruiz']}").get_json()["color"] == "#ff0000"


def test_a_color_given_to_one_contact_is_remembered_too(acme: Tenant) -> None:
    acme.contact("Card Color", color="#123456")
    changed = acme.api.client.patch(
        f"/v1/contacts/{acme.contacts['Ana Ruiz']}", json={"color": "#abcdef"}, headers=acme.auth()
    )
    assert changed.status_code == 200, changed.get_json()

    assert acme.get("/v1/contacts/colors/recent").get_json()["items"][:2] == ["#abcdef", "#123456"]


def test_an_agent_does_not_see_another_members_job(acme: Tenant) -> None:
    job = start(acme, {"filter": {}, "action": "set_emoji", "value": None})

    assert acme.get(f"/v1/contacts/jobs/{job['id']}", headers=acme.auth(acme.agent, role="agent")).status_code == 404


def test_a_job_whose_worker_died_is_failed_with_its_progress_kept(acme: Tenant) -> None:
    from datetime import timedelta

    from crm_contacts.bulk import loops
    from crm_contacts.bulk.models import Job
    from crm_platform.db import utcnow

    job = start(acme, {"filter": {}, "action": "set_emoji", "value": None})
    assert loops.claim(acme.api.rt.database, job_id=job["id"]) == job["id"]  # a worker took it, then died

    assert loops.fail_abandoned(acme.api.rt.database) == 0  # its heartbeat is fresh: still running
    later = utcnow() + loops.ABANDONED_AFTER + timedelta(seconds=1)
    assert loops.fail_abandoned(acme.api.rt.database, now=later) == 1

    failed = acme.get(f"/v1/contacts/jobs/{job['id']}").get_json()
    assert failed["state"] == "failed"
    assert "start it again" in failed["result"]["error"]
    with acme.api.rt.database.unit_of_work() as uow:
        assert uow.session.get(Job, job["id"]).finished_at is not None
