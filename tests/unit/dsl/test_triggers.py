"""Triggers in the core and the rehearsal kit: schedule slots in a time zone and through
daylight-saving changes, the catch-up policies, webhook signatures and body mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from govflow.core.inputs import InputError
from govflow.core.schedule import MAX_CATCH_UP, ScheduleError, check_cron, plan, zone
from govflow.core.trigger_spec import ScheduleTrigger, WebhookTrigger
from govflow.core.webhook import DeliveryRefused, check_headers, map_body, signature
from govflow.testing import scheduled_slots, signed_headers, webhook_inputs
from govflow.testing.triggers import NoTrigger

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
EVERY_10S = ScheduleTrigger(cron="*/10 * * * * *")


def test_a_weekday_cron_in_paris_fires_at_eight_local_time() -> None:
    text = """
name: digest
title: Digest
department: general-administration
triggers:
  schedule: {cron: "0 8 * * 1-5", timezone: Europe/Paris}
steps:
  - {id: log, action: notification, with: {channel: log, message: hi}}
"""
    since, until = datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    slots = scheduled_slots(text, since, until)
    # Friday in winter time (UTC+1), then Monday to Tuesday in summer time (UTC+2).
    assert [s.strftime("%a %d %H:%M") for s in slots] == [
        "Fri 27 07:00", "Mon 30 06:00", "Tue 31 06:00"
    ]  # fmt: skip


def test_a_slot_in_the_skipped_hour_fires_once_at_the_jump() -> None:
    trigger = ScheduleTrigger(cron="30 2 * * *", timezone="Europe/Paris", catch_up="all")
    due = plan(trigger, datetime(2026, 3, 28, 2, tzinfo=UTC), datetime(2026, 3, 30, 2, tzinfo=UTC))
    assert [s.isoformat() for s in due.fire] == [
        "2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"
    ]  # fmt: skip


@pytest.mark.parametrize("policy", ["none", "latest", "all"])
def test_on_time_slots_fire_under_every_policy(policy: str) -> None:
    trigger = ScheduleTrigger(cron="*/10 * * * * *", catch_up=policy)  # type: ignore[arg-type]
    due = plan(trigger, NOW - timedelta(seconds=25), NOW)
    assert [s.second for s in due.fire] == [40, 50, 0]
    assert due.missed_count == 0
    assert due.last == NOW


@pytest.mark.parametrize(
    ("policy", "fired", "missed"), [("none", 6, 24), ("latest", 7, 23), ("all", 30, 0)]
)
def test_catch_up_after_five_minutes_without_a_scheduler(
    policy: str, fired: int, missed: int
) -> None:
    trigger = ScheduleTrigger(cron="*/10 * * * * *", catch_up=policy)  # type: ignore[arg-type]
    due = plan(trigger, NOW - timedelta(minutes=5), NOW)
    assert (len(due.fire), due.missed_count) == (fired, missed)
    assert due.fire == tuple(sorted(due.fire))


def test_catching_up_all_fires_at_most_the_newest_hundred() -> None:
    trigger = ScheduleTrigger(cron="* * * * * *", catch_up="all")
    due = plan(trigger, NOW - timedelta(hours=1), NOW)
    assert len(due.fire) == MAX_CATCH_UP
    assert due.fire[-1] == NOW


def test_a_plan_with_nothing_due_keeps_the_bookmark() -> None:
    due = plan(EVERY_10S, NOW, NOW + timedelta(seconds=5))
    assert (due.fire, due.last) == ((), NOW)


@pytest.mark.parametrize("cron", ["61 * * * *", "* * *", "", "*/0 * * * *", "a b c d e"])
def test_bad_cron_expressions_are_refused(cron: str) -> None:
    with pytest.raises(ScheduleError, match="not a cron expression"):
        check_cron(cron)


@pytest.mark.parametrize("name", ["Mars/Olympus", "../etc/passwd", "/etc/localtime", "", "x" * 80])
def test_unknown_time_zones_are_refused(name: str) -> None:
    with pytest.raises(ScheduleError, match="unknown time zone"):
        zone(name)


BODY = b'{"permit": {"id": "P-1", "applicant": {"name": "Ada"}}}'


def _headers(secret: str = "s3cret", body: bytes = BODY, when: datetime = NOW) -> dict[str, str]:  # noqa: S107 -- a test key
    return {k.lower(): v for k, v in signed_headers(secret, "d-1", body, when).items()}


def test_a_signed_delivery_passes() -> None:
    assert check_headers(_headers(), BODY, "s3cret", NOW) == "d-1"


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({**_headers(), "x-govflow-delivery": ""}, "header.X-GovFlow-Delivery"),
        ({**_headers(), "x-govflow-delivery": "a" * 101}, "header.X-GovFlow-Delivery"),
        ({**_headers(), "x-govflow-timestamp": "soon"}, "header.X-GovFlow-Timestamp"),
        (_headers(when=NOW - timedelta(minutes=6)), "header.X-GovFlow-Timestamp"),
        ({**_headers(), "x-govflow-signature": "md5=abc"}, "header.X-GovFlow-Signature"),
        (_headers(secret="other"), "header.X-GovFlow-Signature"),
        ({**_headers(), "x-govflow-delivery": "d-2"}, "header.X-GovFlow-Signature"),
    ],
)
def test_deliveries_that_are_not_signed_right_are_refused(
    headers: dict[str, str], field: str
) -> None:
    with pytest.raises(DeliveryRefused) as caught:
        check_headers(headers, BODY, "s3cret", NOW)
    assert caught.value.field == field


def test_the_signature_covers_id_timestamp_and_body() -> None:
    assert signature("k", "d", "1", b"{}") != signature("k", "d", "1", b"{ }")
    assert signature("k", "d", "1", b"{}") != signature("k", "d", "2", b"{}")
    assert signature("k", "d", "1", b"{}").startswith("sha256=")


def test_the_body_is_mapped_to_inputs() -> None:
    trigger = WebhookTrigger(
        secret="X", inputs={"permit_id": "body.permit.id", "who": "body.permit.applicant.name",
                            "first": "body.items.0", "gone": "body.nope.deeper"}
    )  # fmt: skip
    body = {"permit": {"id": "P-1", "applicant": {"name": "Ada"}}, "items": ["a"]}
    assert map_body(trigger, body) == {"permit_id": "P-1", "who": "Ada", "first": "a"}
    assert map_body(WebhookTrigger(secret="X"), {"a": 1}) == {"a": 1}
    with pytest.raises(DeliveryRefused, match="expected a JSON object"):
        map_body(WebhookTrigger(secret="X"), [1])


WEBHOOK = """
name: hooked
title: Hooked
department: general-administration
inputs:
  permit_id: {type: string, pattern: "^P-[0-9]+$"}
triggers:
  webhook:
    secret: HOOK
    inputs: {permit_id: body.permit.id}
steps:
  - {id: log, action: notification, with: {channel: log, message: "{{ inputs.permit_id }}"}}
"""


def test_the_rehearsal_kit_gives_a_delivery_s_inputs_or_names_the_input() -> None:
    assert webhook_inputs(WEBHOOK, {"permit": {"id": "P-7"}}) == {"permit_id": "P-7"}
    with pytest.raises(InputError) as caught:
        webhook_inputs(WEBHOOK, {"permit": {"id": "nope"}})
    assert caught.value.problems[0][0] == "inputs.permit_id"
    with pytest.raises(InputError, match="is required"):
        webhook_inputs(WEBHOOK, {})


SEVERAL = """
name: two-bells
title: Two bells
department: general-administration
triggers:
  schedule:
    - {cron: "0 8 * * *"}
    - {cron: "0 8,18 * * *", timezone: Europe/Paris}
steps:
  - {id: log, action: notification, with: {channel: log, message: rung}}
"""


def test_a_list_of_schedules_rehearses_merged_or_one_entry() -> None:
    since = datetime(2026, 11, 27, tzinfo=UTC)
    until = datetime(2026, 11, 28, tzinfo=UTC)
    assert [s.hour for s in scheduled_slots(SEVERAL, since, until)] == [7, 8, 17]
    assert [s.hour for s in scheduled_slots(SEVERAL, since, until, entry=0)] == [8]
    assert [s.hour for s in scheduled_slots(SEVERAL, since, until, entry=1)] == [7, 17]
    with pytest.raises(NoTrigger, match=r"triggers.schedule\[2\]"):
        scheduled_slots(SEVERAL, since, until, entry=2)
