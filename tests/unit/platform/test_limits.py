"""Body caps checked before a body is read, and rate limits per token and per workspace answered with 429,
exercised through the contacts service's app (its upload endpoints declare caps of their own)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm_contacts.app import SERVICE
from crm_contacts.workspaces import service as workspaces
from crm_platform import auth, migrations, settings
from crm_platform.httpserver import ServerLimits
from crm_platform.limits import MULTIPART_ENVELOPE
from crm_platform.ratelimit import RateLimiter
from crm_platform.service import Runtime, bootstrap
from crm_platform.settings import SettingsError
from crm_platform.web import PROBLEM_JSON, create_app

JSON_CAP = 2048


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: Any) -> int:
        raise AssertionError("the body was read")

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0  # the test client rewinds a body before sending it


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("limits")
    migrations.upgrade(SERVICE, f"sqlite:///{path}/contacts.db")
    return path


def runtime(folder: Path, **extra: str) -> Runtime:
    env = {
        "CONTACTS_DATABASE_URL": f"sqlite:///{folder}/contacts.db",
        "CRM_LOCAL_BUS_URL": f"sqlite:///{folder}/bus.db",
        "CRM_JWT_SECRET": "limits-test-secret-long-enough-for-hs256",
        "CRM_ENV": "test",
        **extra,
    }
    return bootstrap(SERVICE, settings.load("contacts", env))


@pytest.fixture(scope="module")
def capped(folder: Path) -> Iterator[tuple[Runtime, Any]]:
    rt = runtime(
        folder,
        CRM_MAX_JSON_BODY_BYTES=str(JSON_CAP),
        CONTACTS_MAX_FILE_BYTES="10000",
        CONTACTS_MAX_IMPORT_BYTES="20000",
        CONTACTS_MAX_ICON_BYTES="3000",
    )
    yield rt, create_app(rt)
    rt.close()


def token_for(rt: Runtime, workspace_id: str | None = None, user: str = "u-1") -> dict[str, str]:
    if workspace_id is None:
        workspace_id = workspaces.create(
            rt.database.unit_of_work(), name=f"ws-{uuid.uuid4().hex[:6]}", default_region="ES"
        ).id
    token = auth.mint_for(rt.settings, workspace_id=workspace_id, user_id=user, role="admin")
    return {"Authorization": f"Bearer {token}"}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    return response.get_json(force=True)  # type: ignore[no-any-return]


# body caps -------------------------------------------------------------------------------------
def test_each_upload_kind_has_its_own_cap_and_every_other_body_the_json_cap(capped: tuple[Runtime, Any]) -> None:
    _, app = capped
    cap = app.extensions["crm.body_limits"].for_request

    assert cap("POST", "/v1/contacts") == JSON_CAP
    assert cap("PATCH", "/v1/contacts/settings") == JSON_CAP
    assert cap("POST", "/v1/contacts/c-1/files") == 10000 + MULTIPART_ENVELOPE
    assert cap("POST", "/v1/contacts/imports") == 20000 + MULTIPART_ENVELOPE
    assert cap("PUT", "/v1/contacts/sources/s-1/icon") == 3000 + 16 * 1024
    assert cap("POST", "/v1/nowhere") == JSON_CAP


@pytest.mark.parametrize(
    ("method", "path", "announced", "field", "cap"),
    [
        ("POST", "/v1/contacts", JSON_CAP + 1, "body", JSON_CAP),
        ("POST", "/v1/contacts/imports", 20000 + MULTIPART_ENVELOPE + 1, "file", 20000),
        ("POST", "/v1/contacts/c-1/files", 60_000_000, "file", 10000),
        ("PUT", "/v1/contacts/sources/s-1/icon", 500_000_000, "icon", 3000),
    ],
)
def test_a_body_announced_over_its_cap_is_refused_413_without_reading_it(
    capped: tuple[Runtime, Any], method: str, path: str, announced: int, field: str, cap: int
) -> None:
    rt, app = capped
    response = app.test_client().open(
        path,
        method=method,
        input_stream=UnreadableBody(),
        headers={**token_for(rt), "Content-Type": "application/json"},
        environ_overrides={"CONTENT_LENGTH": str(announced)},  # what the client announced; nothing follows
    )

    body = problem(response, 413)
    assert body["type"] == "urn:crm:problem:body-too-large"
    assert body["max_bytes"] == cap
    assert body["errors"] == [{"field": field, "message": f"at most {cap} bytes", "code": "too_large"}]


def test_a_json_body_at_its_cap_is_read(capped: tuple[Runtime, Any]) -> None:
    rt, app = capped
    document = b'{"name": "Ada", "tags": ["' + b"x" * (JSON_CAP - 30) + b'"]}'
    document += b" " * (JSON_CAP - len(document))

    response = app.test_client().post(
        "/v1/contacts", data=document, headers={**token_for(rt), "Content-Type": "application/json"}
    )

    assert response.status_code != 413, response.get_data(as_text=True)


def test_a_body_without_a_length_is_cut_at_its_cap_while_read(capped: tuple[Runtime, Any]) -> None:
    rt, app = capped
    chunked = io.BytesIO(b'{"name": "' + b"x" * (JSON_CAP * 4) + b'"}')

    response = app.test_client().post(
        "/v1/contacts",
        input_stream=chunked,
        headers={**token_for(rt), "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert problem(response, 413)["max_bytes"] == JSON_CAP
    assert chunked.tell() <= JSON_CAP + 64 * 1024  # read up to the cap (and a buffer), not to the end


def test_a_cap_that_is_not_a_positive_number_stops_the_process_naming_the_variable(folder: Path) -> None:
    # At start: the contacts service's declared settings are read when its runtime is built, before any app.
    with pytest.raises(SettingsError, match="CONTACTS_MAX_IMPORT_BYTES must be a number"):
        runtime(folder, CONTACTS_MAX_IMPORT_BYTES="lots")
    with pytest.raises(SettingsError, match="CONTACTS_MAX_ICON_BYTES must be a positive number of bytes"):
        runtime(folder, CONTACTS_MAX_ICON_BYTES="0")
    with pytest.raises(SettingsError, match="CRM_MAX_JSON_BODY_BYTES"):
        runtime(folder, CRM_MAX_JSON_BODY_BYTES="0")


def test_server_limits_come_from_the_environment_and_nonsense_stops_the_process() -> None:
    limits = ServerLimits.from_env({"CRM_HTTP_MAX_CONNECTIONS": "300", "CRM_HTTP_READ_TIMEOUT_SECONDS": "5"})

    assert (limits.max_connections, limits.read_timeout, limits.idle_timeout) == (300, 5.0, 30.0)
    assert limits.allowed_seconds(40960) == 5.0 + 10.0  # the timeout, plus a second per 4096 bytes
    with pytest.raises(SettingsError, match="CRM_HTTP_IDLE_TIMEOUT_SECONDS"):
        ServerLimits.from_env({"CRM_HTTP_IDLE_TIMEOUT_SECONDS": "0"})
    with pytest.raises(SettingsError, match="CRM_HTTP_MAX_CONNECTIONS"):
        ServerLimits.from_env({"CRM_HTTP_MAX_CONNECTIONS": "many"})


# rate limits -----------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_gcra_lets_a_minutes_allowance_through_as_a_burst_then_one_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(per_token=3, per_workspace=0, clock=clock)

    passed = [limiter.take(token="t", workspace_id="w") for _ in range(4)]

    assert [d.allowed for d in passed if d] == [True, True, True, False]
    assert [d.remaining for d in passed if d] == [2, 1, 0, 0]
    refused = passed[3]
    assert refused is not None and refused.scope == "token" and refused.retry_after_seconds == pytest.approx(20)
    clock.now += 19.9
    assert not limiter.take(token="t", workspace_id="w").allowed  # type: ignore[union-attr]
    clock.now += 0.1
    assert limiter.take(token="t", workspace_id="w").allowed  # type: ignore[union-attr]
    assert not limiter.take(token="t", workspace_id="w").allowed  # type: ignore[union-attr]


def test_the_workspace_limit_counts_every_token_of_the_workspace_and_no_other() -> None:
    limiter = RateLimiter(per_token=100, per_workspace=3, clock=Clock())

    taken = [limiter.take(token=f"t{i % 2}", workspace_id="w1") for i in range(4)]

    assert [d.allowed for d in taken if d] == [True, True, True, False]
    assert taken[3] is not None and taken[3].scope == "workspace"
    assert limiter.take(token="t9", workspace_id="w2").allowed  # type: ignore[union-attr]


def test_a_refused_request_uses_up_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(per_token=2, per_workspace=0, clock=clock)
    for _ in range(5):
        limiter.take(token="t", workspace_id="w")

    assert limiter.token is not None and limiter.token.arrivals  # the one key there is
    (due,) = limiter.token.arrivals.values()
    assert due == pytest.approx(clock.now + 60.0)  # two requests' worth, not five


def test_over_the_limit_answers_429_problem_with_retry_after_and_ratelimit_headers(folder: Path) -> None:
    rt = runtime(folder, CRM_RATE_LIMIT_PER_TOKEN="2", CRM_RATE_LIMIT_PER_WORKSPACE="1000")
    try:
        client = create_app(rt).test_client()
        headers = token_for(rt)

        answers = [client.get("/v1/contacts/settings", headers=headers) for _ in range(3)]
        health = [client.get("/healthz") for _ in range(3)]
    finally:
        rt.close()

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert {a.headers["RateLimit-Limit"] for a in answers} == {"2"}
    assert {a.headers["RateLimit-Policy"] for a in answers} == {"2;w=60"}
    refused = answers[2]
    body = problem(refused, 429)
    assert body["type"] == "urn:crm:problem:rate-limited" and body["scope"] == "token"
    assert 29 <= int(refused.headers["Retry-After"]) <= 30
    assert int(refused.headers["RateLimit-Reset"]) == 60
    assert [h.status_code for h in health] == [200, 200, 200] and "RateLimit-Limit" not in health[0].headers


def test_a_limit_of_zero_is_off(folder: Path) -> None:
    rt = runtime(folder, CRM_RATE_LIMIT_PER_TOKEN="0", CRM_RATE_LIMIT_PER_WORKSPACE="0")
    try:
        client = create_app(rt).test_client()
        headers = token_for(rt)
        answers = [client.get("/v1/contacts/settings", headers=headers) for _ in range(5)]
    finally:
        rt.close()

    assert {a.status_code for a in answers} == {200}
    assert "RateLimit-Limit" not in answers[0].headers
