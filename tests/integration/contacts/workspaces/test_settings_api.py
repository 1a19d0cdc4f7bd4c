"""Workspace settings over HTTP: everyone reads them, only admins change them, bad values are field problems."""

from __future__ import annotations

from crm.events.v1 import contacts_pb2
from crm_events.contacts import WORKSPACE_SETTINGS_CHANGED
from tests.integration.contacts.support.config_team import Team, assert_problem


def test_new_workspace_settings_have_the_documented_defaults(team: Team) -> None:
    answer = team.get("/v1/contacts/settings", as_agent=True)

    assert answer.status_code == 200
    settings = answer.get_json()
    assert settings["allow_duplicates"] is False
    assert settings["agents_see_all"] is True
    assert (settings["default_region"], settings["time_zone"], settings["languages"]) == ("ES", "UTC", ["es", "en"])


def test_admin_changes_settings_and_every_reader_sees_them(team: Team) -> None:
    changes = {
        "allow_duplicates": True,
        "default_region": "mx",
        "time_zone": "America/Mexico_City",
        "languages": ["ES", "en", "es"],
        "agents_see_all": False,
    }

    answer = team.send("PATCH", "/v1/contacts/settings", changes)

    assert answer.status_code == 200
    expected = {
        "allow_duplicates": True,
        "default_region": "MX",
        "time_zone": "America/Mexico_City",
        "languages": ["es", "en"],
        "agents_see_all": False,
    }
    assert {k: answer.get_json()[k] for k in expected} == expected
    read = team.get("/v1/contacts/settings", as_agent=True).get_json()
    assert {k: read[k] for k in expected} == expected


def test_settings_change_only_what_is_sent(team: Team) -> None:
    team.send("PATCH", "/v1/contacts/settings", {"time_zone": "Europe/Madrid"})

    settings = team.get("/v1/contacts/settings").get_json()

    assert (settings["time_zone"], settings["default_region"], settings["allow_duplicates"]) == (
        "Europe/Madrid",
        "ES",
        False,
    )


def test_agent_may_not_change_settings(team: Team) -> None:
    answer = team.send("PATCH", "/v1/contacts/settings", {"allow_duplicates": True}, as_agent=True)

    assert_problem(answer, 403)
    assert team.get("/v1/contacts/settings").get_json()["allow_duplicates"] is False


def test_every_invalid_setting_is_named_and_nothing_changes(team: Team) -> None:
    answer = team.send(
        "PATCH",
        "/v1/contacts/settings",
        {
            "default_region": "ZZ",
            "time_zone": "Europe/Atlantis",
            "languages": ["es", "klingon"],
            "agents_see_all": True,
        },
    )

    assert_problem(
        answer,
        422,
        {"default_region": "invalid_region", "time_zone": "invalid_time_zone", "languages": "invalid_language"},
    )
    settings = team.get("/v1/contacts/settings").get_json()
    assert (settings["default_region"], settings["time_zone"]) == ("ES", "UTC")


def test_settings_of_one_workspace_do_not_touch_another(team: Team, other_team: Team) -> None:
    team.send("PATCH", "/v1/contacts/settings", {"default_region": "GB"})

    assert other_team.get("/v1/contacts/settings").get_json()["default_region"] == "ES"


def test_a_settings_change_is_announced_with_the_visibility_other_services_apply(team: Team) -> None:
    from crm.events.v1 import contacts_pb2
    from crm_platform.events import payload_of

    flipped = not team.get("/v1/contacts/settings").get_json()["agents_see_all"]
    announced_before = len(team.api.outbox("contacts.workspace.settings_changed"))

    team.send("PATCH", "/v1/contacts/settings", {"agents_see_all": flipped, "time_zone": "Asia/Tokyo"})
    team.send("PATCH", "/v1/contacts/settings", {"time_zone": "Asia/Tokyo"})  # no change: no event

    events = team.api.outbox("contacts.workspace.settings_changed")[announced_before:]
    assert [e.workspace_id for e in events] == [team.workspace_id]
    assert payload_of(events[0], contacts_pb2.WorkspaceSettingsChanged) == contacts_pb2.WorkspaceSettingsChanged(
        changed_fields=["agents_see_all", "time_zone"],
        agents_see_all=flipped,
        actor_id=team.admin_id,
        time_zone="Asia/Tokyo",
        name="Acme",
        languages=["es", "en"],
    )


def test_every_settings_change_carries_the_current_time_zone_name_and_languages(team: Team) -> None:
    team.send("PATCH", "/v1/contacts/settings", {"time_zone": "Europe/Madrid", "languages": ["en", "es"]})
    team.send("PATCH", "/v1/contacts/settings", {"name": "Acme Inmobiliaria"})

    last = team.announced(WORKSPACE_SETTINGS_CHANGED)[-1]

    assert list(last.changed_fields) == ["name"]
    assert (last.time_zone, last.name, list(last.languages)) == ("Europe/Madrid", "Acme Inmobiliaria", ["en", "es"])


def test_a_new_workspace_announces_every_setting_once(team: Team) -> None:
    [created] = team.announced(WORKSPACE_SETTINGS_CHANGED)

    assert created == contacts_pb2.WorkspaceSettingsChanged(
        changed_fields=["agents_see_all", "allow_duplicates", "default_region", "languages", "name", "time_zone"],
        agents_see_all=True,
        time_zone="UTC",
        name="Acme",
        languages=["es", "en"],
    )
