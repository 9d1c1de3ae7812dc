"""The notices a task decision asks for, and how the notifier treats each channel's outcome,
with an in-memory outbox and a recording ``notification`` action (no server)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import msgspec
import pytest

from govflow.core.idempotency import Idempotency
from govflow.core.tasks.deadlines import decide_deadline
from govflow.core.tasks.model import Party, TaskPolicy, TaskState
from govflow.core.tasks.notices import Notice, notices_for, notify_channels
from govflow.core.tasks.vocabulary import TaskStatus
from govflow.plugins import ActionContext, BusinessError, TechnicalError
from govflow.plugins.registry import ActionRegistry
from govflow.usecases.action_host import ActionHost
from govflow.usecases.task_notifications import (
    MAX_ATTEMPTS,
    HeldNotice,
    NoticeMetrics,
    TaskNotifier,
    retry_delay,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOLDER = uuid.uuid4()
CHIEF = uuid.uuid4()


def _task(notify: tuple[Mapping[str, Any], ...], **changes: Any) -> TaskState:
    policy = TaskPolicy(escalate_to=Party(users=(CHIEF,)), notify=notify)
    task = TaskState(
        id=uuid.uuid4(),
        status=TaskStatus.IN_PROGRESS,
        title="Check the file",
        department_id=None,
        policy=policy,
        step_bound=False,
        assignee_id=HOLDER,
        due_at=NOW - timedelta(minutes=1),
    )
    return msgspec.structs.replace(task, **changes)


def test_an_overdue_escalated_task_notifies_each_channel_that_hears_of_it() -> None:
    channels = ({"channel": "webhook", "url": "https://h.example/x"}, {"channel": "log"})
    task = _task(channels)
    decision = decide_deadline(task, NOW)
    assert decision is not None
    notices = notices_for(decision, channels)
    assert [(n.why, n.to, n.channel["channel"]) for n in notices] == [
        ("overdue", Party(users=(HOLDER,)), "webhook"),
        ("overdue", Party(users=(HOLDER,)), "log"),
        ("escalated", Party(users=(CHIEF,)), "webhook"),
        ("escalated", Party(users=(CHIEF,)), "log"),
    ]
    assert [n.key for n in notices] == [
        f"task:{task.id}:overdue:v2:0",
        f"task:{task.id}:overdue:v2:1",
        f"task:{task.id}:escalated:v2:2",
        f"task:{task.id}:escalated:v2:3",
    ]
    assert notices == notices_for(decision, channels)  # the same decision, the same keys


def test_a_channel_hears_only_of_what_its_on_names_and_loses_the_on_key() -> None:
    channels = ({"channel": "log", "on": ["assigned"]}, {"channel": "log", "on": ["overdue"]})
    decision = decide_deadline(_task(channels), NOW)
    assert decision is not None
    notices = notices_for(decision, channels)
    assert [(n.why, dict(n.channel)) for n in notices] == [
        ("overdue", {"channel": "log"}),
        ("escalated", {"channel": "log"}),
    ]


def test_no_channel_no_notice() -> None:
    decision = decide_deadline(_task(()), NOW)
    assert decision is not None
    assert notices_for(decision, ()) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ({"channel": "log"}, ({"channel": "log"},)),
        ([{"channel": "log"}, "junk"], ({"channel": "log"},)),
        (({"channel": "log"},), ({"channel": "log"},)),
        ("log", ()),
    ],
)
def test_notify_channels(value: Any, expected: tuple[Mapping[str, Any], ...]) -> None:
    assert notify_channels(value) == expected


def test_retry_delay_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert retry_delay(40) == 3600.0


# The notifier -----------------------------------------------------------------------------------


class FakeOutbox:
    def __init__(self, held: list[HeldNotice], emails: list[str] | None = None) -> None:
        self.held = held
        self.addresses = emails or []
        self.outcomes: dict[int, tuple[str, str | None]] = {}

    async def take(self, limit: int, lease_seconds: float) -> list[HeldNotice]:
        taken, self.held = self.held[:limit], self.held[limit:]
        return taken

    async def sent(self, notice_id: int) -> None:
        self.outcomes[notice_id] = ("sent", None)

    async def retry(self, notice_id: int, error: str, delay_seconds: float) -> None:
        self.outcomes[notice_id] = ("retry", error)

    async def give_up(self, notice_id: int, error: str) -> None:
        self.outcomes[notice_id] = ("given_up", error)

    async def emails(self, party: Party) -> list[str]:
        return self.addresses


class Inputs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    channel: str
    message: str
    url: str | None = None
    to: list[str] | None = None
    subject: str | None = None


class Recorder:
    name: ClassVar[str] = "notification"
    description: ClassVar[str] = "records"
    inputs: ClassVar[type[msgspec.Struct]] = Inputs
    idempotency: ClassVar[Idempotency] = Idempotency.LOCAL

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, Inputs]] = []

    async def execute(self, ctx: ActionContext, params: Inputs) -> Mapping[str, Any]:
        if self.error is not None:
            raise self.error
        self.sent.append((ctx.idempotency_key, params))
        return {}

    async def lookup(self, ctx: ActionContext, params: Any) -> Mapping[str, Any] | None:
        return None

    def idempotency_for(self, params: Inputs) -> Idempotency:
        return Idempotency.AT_MOST_ONCE if params.channel == "email" else Idempotency.REMOTE_KEY


def _held(channel: Mapping[str, Any], *, attempts: int = 1, in_flight: bool = False) -> HeldNotice:
    task_id = uuid.uuid4()
    notice = Notice(
        key=f"task:{task_id}:overdue:v2:0",
        task_id=task_id,
        why="overdue",
        to=Party(users=(HOLDER,)),
        channel=channel,
        message="Task is overdue.",
    )
    return HeldNotice(
        id=1,
        notice=notice,
        attempts=attempts,
        was_in_flight=in_flight,
        execution_id=None,
        step_id=None,
    )


def _notifier(outbox: FakeOutbox, action: Recorder) -> TaskNotifier:
    registry = ActionRegistry()
    registry.add(action)  # type: ignore[arg-type]
    return TaskNotifier(outbox=outbox, host=ActionHost(actions=registry), metrics=NoticeMetrics())


async def test_a_webhook_notice_is_sent_with_its_key_and_marked_sent() -> None:
    held = _held({"channel": "webhook", "url": "https://h.example/x"})
    outbox, action = FakeOutbox([held]), Recorder()
    assert await _notifier(outbox, action).send_due() == 1
    assert action.sent == [
        (
            held.notice.key,
            Inputs(channel="webhook", message="Task is overdue.", url="https://h.example/x"),
        )
    ]
    assert outbox.outcomes == {1: ("sent", None)}


async def test_an_email_goes_to_the_people_concerned_unless_it_names_its_recipients() -> None:
    outbox, action = FakeOutbox([_held({"channel": "email"})], ["clerk@x.org"]), Recorder()
    await _notifier(outbox, action).send_due()
    assert action.sent[0][1].to == ["clerk@x.org"]
    assert action.sent[0][1].subject == "GovFlow task overdue"
    named = FakeOutbox([_held({"channel": "email", "to": ["ops@x.org"]})], ["clerk@x.org"])
    await _notifier(named, action).send_due()
    assert action.sent[1][1].to == ["ops@x.org"]


async def test_a_transient_failure_is_retried_until_the_last_attempt() -> None:
    outbox = FakeOutbox([_held({"channel": "webhook", "url": "https://h.example/x"})])
    await _notifier(outbox, Recorder(TechnicalError("503"))).send_due()
    assert outbox.outcomes == {1: ("retry", "503")}
    last = FakeOutbox(
        [_held({"channel": "webhook", "url": "https://h.example/x"}, attempts=MAX_ATTEMPTS)]
    )
    await _notifier(last, Recorder(TechnicalError("503"))).send_due()
    assert last.outcomes == {1: ("given_up", "503")}


async def test_a_refusal_gives_up_at_once() -> None:
    outbox = FakeOutbox([_held({"channel": "webhook", "url": "https://h.example/x"})])
    await _notifier(outbox, Recorder(BusinessError("not allowed"))).send_due()
    assert outbox.outcomes == {1: ("given_up", "not allowed")}


async def test_an_email_whose_sender_died_is_not_sent_again_a_webhook_is() -> None:
    action = Recorder()
    email = FakeOutbox([_held({"channel": "email", "to": ["a@x.org"]}, in_flight=True)])
    await _notifier(email, action).send_due()
    assert email.outcomes == {1: ("given_up", "an earlier attempt's outcome is unknown")}
    assert action.sent == []
    hook = FakeOutbox([_held({"channel": "webhook", "url": "https://h.example/x"}, in_flight=True)])
    await _notifier(hook, action).send_due()
    assert hook.outcomes == {1: ("sent", None)}


async def test_an_invalid_channel_is_given_up() -> None:
    outbox = FakeOutbox([_held({"channel": "webhook", "bogus": 1})])
    await _notifier(outbox, Recorder()).send_due()
    assert outbox.outcomes[1][0] == "given_up"
