"""The workspace's automation settings over HTTP: defaults, admins' changes, validation, versions, and the
policy the reply rules read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from crm_tickets.automation import service
from crm_tickets.automation.rules import Policy
from tests.support.stack import ContactsPeer, RunningService, problem_fields

URL = "/v1/tickets/settings/automation"
CHOICE = {
    "agent_reply_sets_pending": False,
    "closed_followup": "new_ticket_after_days",
    "followup_after_days": 30,
    "auto_close_solved_after_days": 2,
}


def put(api: RunningService, workspace_id: str, body: dict[str, Any], *, role: str = "admin", **headers: str) -> Any:
    return api.client.put(URL, json=body, headers={**api.auth(workspace_id, role=role), **headers})


def test_a_new_workspace_has_the_defaults_any_member_may_read(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()

    answer = tickets_api.client.get(URL, headers=tickets_api.auth(acme, role="agent"))

    assert answer.status_code == 200
    assert answer.get_json() == {
        "agent_reply_sets_pending": True,
        "closed_followup": "reopen",
        "followup_after_days": 14,
        "auto_close_solved_after_days": 7,
        "version": 0,
    }
    assert answer.headers["ETag"] == '"0"'


def test_an_admin_replaces_them_and_the_rules_read_them(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, globex = contacts_peer_service.workspace(name="Acme"), contacts_peer_service.workspace(name="Globex")

    answer = put(tickets_api, acme, CHOICE)

    assert answer.status_code == 200
    assert answer.get_json() == {**CHOICE, "version": 1}
    assert tickets_api.client.get(URL, headers=tickets_api.auth(acme)).get_json() == {**CHOICE, "version": 1}
    assert tickets_api.client.get(URL, headers=tickets_api.auth(globex)).get_json()["version"] == 0
    with tickets_api.rt.database.unit_of_work() as uow:
        assert service.policy_for(uow.session, acme) == Policy(
            agent_reply_sets_pending=False,
            closed_followup="new_ticket_after_days",
            followup_after_days=30,
            auto_close_solved_after_days=2,
        )
        assert service.policy_for(uow.session, globex) == Policy()
    never = put(tickets_api, acme, {**CHOICE, "auto_close_solved_after_days": None})
    assert never.get_json()["auto_close_solved_after_days"] is None
    assert never.get_json()["version"] == 2


def test_an_agent_may_not_change_them(tickets_api: RunningService, contacts_peer_service: ContactsPeer) -> None:
    acme = contacts_peer_service.workspace()

    answer = put(tickets_api, acme, CHOICE, role="agent")

    assert answer.status_code == 403
    assert answer.mimetype == "application/problem+json"
    assert tickets_api.client.get(URL, headers=tickets_api.auth(acme)).get_json()["version"] == 0


def test_invalid_settings_are_refused_field_by_field(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()

    cases = [
        ({**CHOICE, "followup_after_days": 0}, "followup_after_days"),
        ({**CHOICE, "auto_close_solved_after_days": 3651}, "auto_close_solved_after_days"),
        ({**CHOICE, "closed_followup": "ignore"}, "closed_followup"),
        ({**CHOICE, "surprise": True}, "surprise"),
        ({k: v for k, v in CHOICE.items() if k != "followup_after_days"}, "followup_after_days"),
    ]
    for body, field in cases:
        answer = put(tickets_api, acme, body)
        assert answer.status_code == 422, body
        assert answer.mimetype == "application/problem+json"
        assert list(problem_fields(answer.get_json())) == [field]
    assert tickets_api.client.get(URL, headers=tickets_api.auth(acme)).get_json()["version"] == 0


def test_a_write_on_a_stale_version_is_refused(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    assert put(tickets_api, acme, CHOICE, **{"If-Match": '"0"'}).status_code == 200

    stale = put(tickets_api, acme, {**CHOICE, "followup_after_days": 5}, **{"If-Match": '"0"'})

    assert stale.status_code == 412
    assert stale.get_json()["current_version"] == 1
    fresh = put(tickets_api, acme, {**CHOICE, "followup_after_days": 5}, **{"If-Match": '"1"'})
    assert (fresh.status_code, fresh.get_json()["followup_after_days"]) == (200, 5)


def test_the_policy_is_read_once_per_unit_of_work(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, globex = contacts_peer_service.workspace(name="Acme"), contacts_peer_service.workspace(name="Globex")
    assert put(tickets_api, acme, CHOICE).status_code == 200
    engine = tickets_api.rt.database.engine
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "ticket_automation_settings" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with tickets_api.rt.database.unit_of_work() as uow:
            for _ in range(3):
                assert service.policy_for(uow.session, acme).followup_after_days == 30
                assert service.policy_for(uow.session, globex) == Policy()  # the defaults: no row, still cached
        with tickets_api.rt.database.unit_of_work() as uow:
            service.policy_for(uow.session, acme)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 3  # acme and globex in the first unit of work, acme in the second
