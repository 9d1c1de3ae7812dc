"""Which ``notify`` channel hears of which lifecycle event: the ``on`` words are one
vocabulary (the core's, the ``manual`` step's, ``POST /tasks``'s), a channel without ``on`` hears
of ``assigned`` and ``overdue`` only, and a rejection's notice carries its reason, bounded."""

from __future__ import annotations

from typing import get_args
from uuid import UUID

import pytest
from govflow_manual.inputs import NotifyOn as StepNotifyOn

from govflow.core.tasks.model import Notify, Party, TaskDecision
from govflow.core.tasks.notices import MAX_DETAIL, ON, ON_WORDS, WHAT_HAPPENED, notices_for
from govflow.core.tasks.vocabulary import TaskStatus
from govflow.usecases.task_creation import NotifyOn as TaskNotifyOn
from tests.unit.human_tasks.support import task_in

USER = Party(users=(UUID(int=7),))


def test_the_on_words_are_one_vocabulary() -> None:
    assert set(get_args(StepNotifyOn)) == set(ON_WORDS)
    assert set(get_args(TaskNotifyOn)) == set(ON_WORDS)
    assert set(ON.values()) == set(ON_WORDS)
    assert set(ON) == set(WHAT_HAPPENED)


def _heard(why: str, channel: dict[str, object], detail: str = "") -> list[str]:
    decision = TaskDecision(
        state=task_in(TaskStatus.OPEN), commands=(Notify(why=why, to=USER, detail=detail),)
    )
    return [notice.message for notice in notices_for(decision, [channel])]


@pytest.mark.parametrize("why", ["created", "claimed", "submitted", "rejected", "canceled"])
def test_a_channel_hears_the_new_events_only_when_it_names_them(why: str) -> None:
    assert _heard(why, {"channel": "log"}) == []
    assert _heard(why, {"channel": "log", "on": ["assigned", "overdue"]}) == []
    assert len(_heard(why, {"channel": "log", "on": [ON[why]]})) == 1


@pytest.mark.parametrize("why", ["assigned", "delegated", "overdue", "escalated"])
def test_a_channel_without_on_still_hears_assignments_and_deadlines(why: str) -> None:
    assert len(_heard(why, {"channel": "log"})) == 1


def test_a_rejection_says_why_within_bounds() -> None:
    (short,) = _heard("rejected", {"channel": "log", "on": ["rejected"]}, "the receipt is missing")
    assert short.endswith(" was rejected. Reason: the receipt is missing")
    (long,) = _heard("rejected", {"channel": "log", "on": ["rejected"]}, "x" * 5000)
    reason = long.split(" Reason: ", 1)[1]
    assert len(reason) == MAX_DETAIL
    assert reason.endswith("...")
