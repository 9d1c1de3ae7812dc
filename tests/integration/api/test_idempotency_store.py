"""The idempotency keys' store and scheme on PostgreSQL: a claim in flight refuses duplicates,
an abandoned one is taken over, and a late answer of the abandoned request is not kept."""

from __future__ import annotations

import uuid

import pytest

from govflow.adapters.db.http_idempotency import PgKeyStore
from govflow.bootstrap import Container
from govflow.usecases.idempotency_keys import (
    Claim,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IdempotencyKeys,
    KeyedRequest,
    KeyPolicy,
    Replay,
)


def _request(caller: uuid.UUID, fingerprint: str = "a" * 64) -> KeyedRequest:
    return KeyedRequest(
        caller=caller, key="k-1", method="POST", route="/departments", fingerprint=fingerprint
    )


async def test_in_flight_abandoned_and_late_answers(services: Container) -> None:
    store = PgKeyStore(services.db)
    keys = IdempotencyKeys(store, KeyPolicy(ttl_seconds=3600, in_flight_seconds=60))
    caller = uuid.uuid4()
    first = await keys.begin(_request(caller))
    assert isinstance(first, Claim)
    with pytest.raises(IdempotencyKeyInFlight):
        await keys.begin(_request(caller))
    with pytest.raises(IdempotencyKeyReused):
        await keys.begin(_request(caller, "b" * 64))

    # The first request's process died: a minute later its claim is taken over.
    await services.db.pool.execute(
        "UPDATE http_idempotency_keys SET created_at = now() - interval '61 seconds'"
    )
    second = await keys.begin(_request(caller))
    assert isinstance(second, Claim)
    assert second.id == first.id
    assert second.claimed_at != first.claimed_at
    await keys.complete(first, 201, '{"late": true}')  # the abandoned request, late: ignored
    await keys.release(first)  # nor can it free the key
    await keys.complete(second, 201, '{"second": true}')
    assert await keys.begin(_request(caller)) == Replay(201, '{"second": true}')


async def test_a_released_key_is_free_and_other_callers_are_apart(services: Container) -> None:
    keys = IdempotencyKeys(PgKeyStore(services.db), KeyPolicy(ttl_seconds=3600))
    caller, other = uuid.uuid4(), uuid.uuid4()
    claim = await keys.begin(_request(caller))
    assert isinstance(claim, Claim)
    assert isinstance(await keys.begin(_request(other, "c" * 64)), Claim)
    await keys.release(claim)
    again = await keys.begin(_request(caller, "d" * 64))
    assert isinstance(again, Claim)
