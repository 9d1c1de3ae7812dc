"""The statements of long actions on PostgreSQL: a heartbeat renews the lease now and records
progress, only while the claim's fencing token is current; a hand-back releases the step
unstarted; a signal wait keeps only the token's hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from govflow.adapters.db.fleet import PgFleet
from govflow.adapters.db.long_actions import PgLongActions
from govflow.bootstrap import Container
from govflow.usecases.fleet import FleetMember
from govflow.usecases.long_actions import token_hash
from govflow.usecases.ports import ClaimedStep
from govflow.usecases.start_execution import StartRequest
from govflow.usecases.translate import claim_order
from tests.support.engine import install_workflow

ONE_STEP = """
name: one-echo
title: One echo
department: general-administration
steps:
  - {id: a, action: echo, with: {value: x}}
"""


async def claimed(engine: Container) -> ClaimedStep:
    async with engine.db.pool.acquire() as conn:
        await install_workflow(conn, ONE_STEP)
    started = await engine.start_execution(StartRequest(workflow="one-echo"))
    got = await engine.steps.claim(
        started.first_step_id,  # type: ignore[arg-type]
        "worker:test",
        timedelta(seconds=2),
        claim_order(datetime.now(UTC)),
    )
    assert got is not None
    return got[0]


async def test_a_heartbeat_renews_the_lease_now_and_records_progress(engine: Container) -> None:
    claim = await claimed(engine)
    pool = engine.db.pool
    before = await pool.fetchval(
        "SELECT lease_expires_at - now() FROM execution_steps WHERE id = $1", claim.step_id
    )
    assert before <= timedelta(seconds=2)
    actions = PgLongActions(pool)
    assert await actions.heartbeat(claim, timedelta(minutes=10), {"done": 3, "of": 9})
    row = await pool.fetchrow(
        "SELECT lease_expires_at - now() AS left, progress::text, progress_at "
        "FROM execution_steps WHERE id = $1",
        claim.step_id,
    )
    assert row["left"] > timedelta(minutes=9)
    assert row["progress"] == '{"of": 9, "done": 3}'
    assert row["progress_at"] is not None

    await pool.execute(
        "UPDATE execution_steps SET fencing_token = fencing_token + 1 WHERE id = $1", claim.step_id
    )  # a recovery took the step over
    assert not await actions.heartbeat(claim, timedelta(minutes=10), "late")
    assert not await actions.open_wait(claim, token_hash("t"))
    progress = await pool.fetchval(
        "SELECT progress::text FROM execution_steps WHERE id = $1", claim.step_id
    )
    assert progress == '{"of": 9, "done": 3}'


async def test_a_hand_back_releases_the_step_unstarted(engine: Container) -> None:
    claim = await claimed(engine)
    fleet = PgFleet(engine.db.pool)
    assert await fleet.handbacks(claim) == 0
    assert await fleet.hand_back(claim, timedelta(seconds=30), [])
    row = await engine.db.pool.fetchrow(
        "SELECT status, attempt, handbacks, lease_owner, next_attempt_at - now() AS wait "
        "FROM execution_steps WHERE id = $1",
        claim.step_id,
    )
    assert (row["status"], row["attempt"], row["handbacks"], row["lease_owner"]) == (
        "PENDING",
        0,
        1,
        None,
    )
    assert timedelta(seconds=25) < row["wait"] <= timedelta(seconds=30)
    outcome = await engine.db.pool.fetchval(
        "SELECT outcome FROM execution_step_attempts WHERE execution_step_id = $1", claim.step_id
    )
    assert outcome == "HANDED_BACK"
    assert not await fleet.hand_back(claim, timedelta(0), [])  # the token is spent


async def test_live_workers_and_their_actions(engine: Container) -> None:
    fleet = PgFleet(engine.db.pool)
    assert await fleet.live_actions() is None
    member = FleetMember(id="w1", hostname="h", pid=1, plugins={"p": "1.0"}, actions=("a", "b"))
    await fleet.join(member)
    await fleet.join(FleetMember(id="w2", hostname="h", pid=2, plugins={}, actions=("c",)))
    assert await fleet.live_actions() == {"a", "b", "c"}
    assert await fleet.offered_elsewhere("c", "w1")
    assert not await fleet.offered_elsewhere("a", "w1")
    await engine.db.pool.execute(
        "UPDATE workers SET heartbeat_at = now() - interval '1 minute' WHERE id = 'w2'"
    )
    assert await fleet.live_actions() == {"a", "b"}
    await fleet.beat("w2")
    assert not await fleet.offered_elsewhere("c", "w2")
    assert await fleet.offered_elsewhere("c", "w1")
    await fleet.leave("w1")
    assert await fleet.live_actions() == {"c"}
