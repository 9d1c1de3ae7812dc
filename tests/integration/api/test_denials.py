"""Denied requests are audited as counts per (user, route, status) and window; the access log
names the user and the status actually sent."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
import structlog

from govflow.adapters.security.denial_counter import PoolAuditAppender, RedisDenialCounter
from govflow.bootstrap import Container
from govflow.bootstrap.api import redis_prefix
from govflow.http.denials import DENIALS_STATE_KEY, DenialRecorder
from govflow.usecases.denials import Denial, DenialAudit
from tests.integration.api.conftest import ApiHarness


def recorder(api: ApiHarness) -> DenialRecorder:
    found: DenialRecorder = api.app.state[DENIALS_STATE_KEY]
    return found


async def denial_rows(api: ApiHarness | Container) -> list[dict[str, Any]]:
    services = api.services if isinstance(api, ApiHarness) else api
    rows = await services.db.pool.fetch(
        "SELECT actor_id, actor_email, entity_type, entity_id, department_id, metadata "
        "FROM audit_logs WHERE action = 'ACCESS_DENIED' ORDER BY id"
    )
    result = []
    for row in rows:
        item = dict(row)
        if isinstance(item["metadata"], str):
            item["metadata"] = json.loads(item["metadata"])
        result.append(item)
    return result


async def test_forbidden_and_cross_department_denials_are_counted_not_repeated(
    api: ApiHarness,
) -> None:
    operator = api.user("OPERATOR")
    manager = api.user("MANAGER")
    for _ in range(20):
        assert (await api.client.get("/users", headers=operator.headers)).status_code == 403
    other_department = f"/departments/{api.departments['B']}"
    for _ in range(3):
        response = await api.client.get(other_department, headers=manager.headers)
        assert response.status_code == 404
    assert await denial_rows(api) == []
    assert await recorder(api).flush(include_current=True) == 2
    rows = await denial_rows(api)
    by_status = {row["metadata"]["status"]: row for row in rows}
    forbidden = by_status[403]
    assert forbidden["actor_id"] == operator.id
    assert forbidden["actor_email"] == operator.email
    assert forbidden["department_id"] == operator.department_id
    assert (forbidden["entity_type"], forbidden["entity_id"]) == ("route", "listUsers")
    assert forbidden["metadata"]["count"] == 20
    assert forbidden["metadata"]["method"] == "GET"
    assert forbidden["metadata"]["path"] == "/users"
    hidden = by_status[404]
    assert hidden["actor_id"] == manager.id
    assert hidden["entity_id"] == "getDepartment"
    assert hidden["metadata"]["count"] == 3
    assert hidden["metadata"]["path"] == "/departments/{department_id}"
    for _ in range(5):
        await api.client.get("/users", headers=operator.headers)
    assert await recorder(api).flush(include_current=True) == 1
    rows = await denial_rows(api)
    assert len(rows) == 3
    assert rows[-1]["metadata"]["count"] == 5


async def test_refused_tokens_are_counted_under_their_user_when_signed(api: ApiHarness) -> None:
    disabled = await api.add_user("OPERATOR")
    await api.services.db.pool.execute(
        "UPDATE users SET is_active = false WHERE id = $1", disabled.id
    )
    for _ in range(4):
        response = await api.client.get("/auth/me", headers=disabled.headers)
        assert response.status_code == 401
    for _ in range(3):
        response = await api.client.get("/auth/me", headers={"Authorization": "Bearer forged"})
        assert response.status_code == 401
    await recorder(api).flush(include_current=True)
    rows = {row["actor_id"]: row for row in await denial_rows(api)}
    assert set(rows) == {disabled.id, None}
    assert rows[disabled.id]["metadata"]["count"] == 4
    assert rows[disabled.id]["metadata"]["status"] == 401
    assert rows[None]["metadata"]["count"] == 3
    assert rows[None]["entity_id"] == "getMe"


async def test_anonymous_requests_add_no_audit_rows(api: ApiHarness) -> None:
    before = await api.count("audit_logs")
    for _ in range(100):
        assert (await api.client.get("/users")).status_code == 401
    for _ in range(20):
        assert (await api.client.get("/nowhere")).status_code == 404
    assert await recorder(api).flush(include_current=True) == 0
    assert await api.count("audit_logs") == before


async def test_an_admins_not_found_is_not_a_denial(api: ApiHarness) -> None:
    admin = api.headers("ADMIN")
    assert (await api.client.get(f"/users/{uuid.uuid4()}", headers=admin)).status_code == 404
    assert await recorder(api).flush(include_current=True) == 0


async def test_access_log_names_the_user_and_the_status_sent(api: ApiHarness) -> None:
    operator = api.user("OPERATOR")
    with structlog.testing.capture_logs() as logs:
        await api.client.get("/auth/me", headers=operator.headers)
        await api.client.get("/users")
        await api.client.get("/users", headers=operator.headers)
        await api.client.get("/nowhere/at/all")
        await api.client.put("/auth/login", json={})
    lines = [
        (entry["method"], entry["path"], entry["status"], entry["user_id"])
        for entry in logs
        if entry["event"] == "http_request"
    ]
    assert lines == [
        ("GET", "/auth/me", 200, str(operator.id)),
        ("GET", "/users", 401, None),
        ("GET", "/users", 403, str(operator.id)),
        ("GET", "/nowhere/at/all", 404, None),
        ("PUT", "/auth/login", 405, None),
    ]


async def test_windows_are_flushed_once_closed_and_taken_once(services: Container) -> None:
    """Two API workers flushing the same closed window write its count once."""
    settings = services.settings
    counter = RedisDenialCounter(services.redis, prefix=redis_prefix(settings.queue_name))
    first = DenialAudit(counter, PoolAuditAppender(services.db.pool), window_seconds=60)
    second = DenialAudit(
        RedisDenialCounter(services.redis, prefix=redis_prefix(settings.queue_name)),
        PoolAuditAppender(services.db.pool),
        window_seconds=60,
    )
    start = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    denial = Denial(status=403, operation="listUsers", method="GET", path="/users")
    for second_offset in (0, 10, 59):
        await first.record(denial, start + timedelta(seconds=second_offset))
    await second.record(denial, start + timedelta(seconds=61))
    assert await first.flush(start + timedelta(seconds=59)) == 0
    written = await asyncio.gather(
        first.flush(start + timedelta(seconds=60)), second.flush(start + timedelta(seconds=60))
    )
    assert sorted(written) == [0, 1]
    rows = await denial_rows(services)
    assert len(rows) == 1
    assert rows[0]["metadata"]["count"] == 3
    assert rows[0]["metadata"]["window_start"] == "2026-01-31T12:00:00+00:00"
    assert rows[0]["metadata"]["window_end"] == "2026-01-31T12:01:00+00:00"
    assert await second.flush(start + timedelta(seconds=120)) == 1
    assert [row["metadata"]["count"] for row in await denial_rows(services)] == [3, 1]


async def test_an_unreachable_counter_does_not_affect_the_answer(api: ApiHarness) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = aioredis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    live = recorder(api).audit
    recorder(api).audit = DenialAudit(
        RedisDenialCounter(unreachable, prefix="gone"),
        PoolAuditAppender(api.services.db.pool),
        window_seconds=60,
    )
    try:
        with structlog.testing.capture_logs() as logs:
            response = await api.client.get("/users", headers=api.headers("OPERATOR"))
        assert response.status_code == 403
        assert [e["event"] for e in logs if e["event"] == "denial_not_counted"] == [
            "denial_not_counted"
        ]
    finally:
        recorder(api).audit = live
        await unreachable.aclose()
