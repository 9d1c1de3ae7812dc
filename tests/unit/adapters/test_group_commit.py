"""Group commit's rounds: who joins a round, when it closes, and how each caller is answered."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from govflow.adapters.db.group_commit import GroupCommit, RoundBounds


class Recorder:
    """A ``send`` that records its rounds and answers each item by doubling it (an item below
    zero is answered with its own error)."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.rounds: list[list[int]] = []
        self.gate = gate

    async def send(self, items: Sequence[int]) -> list[int | BaseException]:
        self.rounds.append(list(items))
        if self.gate is not None:
            await self.gate.wait()
        return [ValueError(f"bad {i}") if i < 0 else i * 2 for i in items]


def grouped(recorder: Recorder, **bounds: float) -> GroupCommit[int, int]:
    return GroupCommit(recorder.send, key=lambda i: abs(i) % 1000, bounds=RoundBounds(**bounds))  # type: ignore[arg-type]


async def test_a_caller_alone_is_sent_alone_at_once() -> None:
    recorder = Recorder()
    group = grouped(recorder, max_wait=60.0)
    assert await asyncio.wait_for(group.submit(3), timeout=5) == 6
    assert recorder.rounds == [[3]]


async def test_callers_ready_together_share_one_round() -> None:
    recorder = Recorder()
    group = grouped(recorder)
    answers = await asyncio.gather(*(group.submit(i) for i in range(10)))
    assert answers == [i * 2 for i in range(10)]
    assert recorder.rounds == [list(range(10))]
    assert (group.rounds, group.items) == (1, 10)


async def test_a_round_holds_at_most_max_items() -> None:
    recorder = Recorder()
    group = grouped(recorder, max_items=4)
    answers = await asyncio.gather(*(group.submit(i) for i in range(10)))
    assert answers == [i * 2 for i in range(10)]
    assert [len(r) for r in recorder.rounds] == [4, 4, 2]
    assert sorted(i for r in recorder.rounds for i in r) == list(range(10))


async def test_two_items_of_one_key_never_share_a_round() -> None:
    recorder = Recorder()
    group = grouped(recorder)
    answers = await asyncio.gather(group.submit(1), group.submit(1001), group.submit(2))
    assert answers == [2, 2002, 4]
    assert recorder.rounds == [[1, 2], [1001]]  # the second of key 1 waits for the next


async def test_one_items_error_is_its_callers_alone() -> None:
    recorder = Recorder()
    group = grouped(recorder)
    answers = await asyncio.gather(
        group.submit(1), group.submit(-2), group.submit(3), return_exceptions=True
    )
    assert answers[0] == 2
    assert answers[2] == 6
    assert isinstance(answers[1], ValueError)
    assert str(answers[1]) == "bad -2"
    assert recorder.rounds == [[1, -2, 3]]


async def test_a_round_that_fails_as_a_whole_fails_each_of_its_callers() -> None:
    failures = [ConnectionError("gone")]

    async def flaky(items: Sequence[int]) -> list[int | BaseException]:
        if failures:
            raise failures.pop()
        return list(items)

    group: GroupCommit[int, int] = GroupCommit(flaky, key=lambda i: i)
    answers = await asyncio.gather(group.submit(1), group.submit(2), return_exceptions=True)
    assert [type(a) for a in answers] == [ConnectionError, ConnectionError]
    assert await group.submit(3) == 3  # the next round is sent as usual


async def test_the_next_round_forms_while_one_is_sent_and_in_flight_is_bounded() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate)
    group = grouped(recorder, max_in_flight=2)
    first = asyncio.ensure_future(group.submit(1))
    await _until(lambda: len(recorder.rounds) == 1)
    second = [asyncio.ensure_future(group.submit(i)) for i in (2, 3)]
    await _until(lambda: len(recorder.rounds) == 2)
    third = asyncio.ensure_future(group.submit(4))
    for _ in range(50):  # both slots are taken: the third round waits, however long
        await asyncio.sleep(0)
    assert recorder.rounds == [[1], [2, 3]]
    gate.set()
    assert await asyncio.gather(first, *second, third) == [2, 4, 6, 8]
    assert recorder.rounds == [[1], [2, 3], [4]]


async def test_a_caller_canceled_before_its_round_is_sent_is_left_out() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate)
    group = grouped(recorder, max_in_flight=1)
    first = asyncio.ensure_future(group.submit(1))
    await _until(lambda: len(recorder.rounds) == 1)
    canceled = asyncio.ensure_future(group.submit(2))
    kept = asyncio.ensure_future(group.submit(3))
    await asyncio.sleep(0)
    canceled.cancel()
    gate.set()
    assert await asyncio.gather(first, kept) == [2, 6]
    with pytest.raises(asyncio.CancelledError):
        await canceled
    assert recorder.rounds == [[1], [3]]


async def test_a_round_closes_after_max_wait_while_callers_keep_coming() -> None:
    recorder = Recorder()
    group = grouped(recorder, max_wait=0.0)
    stop = asyncio.Event()

    async def stream() -> None:  # a new caller on every pass of the loop, without end
        tasks = []
        i = 0
        while not stop.is_set():
            i += 1
            tasks.append(asyncio.ensure_future(group.submit(i)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)

    streaming = asyncio.ensure_future(stream())
    await _until(lambda: len(recorder.rounds) >= 3)
    stop.set()
    await streaming
    assert len(recorder.rounds[0]) < 5  # the first round did not wait for the stream to end


async def _until(condition: object, passes: int = 10_000) -> None:
    for _ in range(passes):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")
