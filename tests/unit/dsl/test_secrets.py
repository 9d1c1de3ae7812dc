"""``secret('NAME')``: resolved by a session that remembers what it read, redacted on the way
to storage, refused by validation where it would be stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govflow.core.engine import (
    AttemptFailedBusiness,
    AttemptFailedTechnical,
    AttemptOutcomeUnknown,
    AttemptSucceeded,
    AttemptSuspended,
    ConditionFalse,
    StepError,
)
from govflow.core.expressions import (
    ExpressionError,
    build_context,
    evaluate_condition,
    inspect_template,
    render,
)
from govflow.core.secrets import (
    SECRET_FUNCTION,
    SecretSession,
    UnknownSecret,
    no_secrets,
    redact,
    redact_event,
)
from govflow.plugins.secrets import EnvironmentSecrets, secret_lookup
from govflow.testing.rehearsal import rehearse

VALUES = {"API_TOKEN": "s3cr3t-token", "SHORT": "ab"}


def context(session: SecretSession) -> dict[str, object]:
    values = build_context({"who": "ada"})
    values[SECRET_FUNCTION] = session
    return values


def test_a_template_reads_a_secret_and_the_session_remembers_it() -> None:
    session = SecretSession(VALUES.get)
    rendered = render({"auth": "Bearer {{ secret('API_TOKEN') }}"}, context(session))
    assert rendered == {"auth": "Bearer s3cr3t-token"}
    assert session.resolved == {"API_TOKEN": "s3cr3t-token"}
    assert evaluate_condition("secret('SHORT') == 'ab'", context(session))
    assert session.resolved == VALUES


def test_an_unknown_secret_keeps_its_own_error() -> None:
    session = SecretSession(no_secrets)
    with pytest.raises(UnknownSecret) as caught:
        render("{{ secret('MISSING') }}", context(session))
    assert caught.value.name == "MISSING"
    assert str(caught.value).startswith("unknown secret 'MISSING': no secret provider knows it")
    assert session.resolved == {}


def test_a_name_computed_at_run_time_must_still_be_a_secret_name() -> None:
    session = SecretSession(VALUES.get)
    values = context(session)
    values["inputs"] = {"which": "api_token"}
    with pytest.raises(ExpressionError, match="secret\\(\\) takes a name of uppercase letters"):
        render("{{ secret(inputs.which) }}", values)


def test_redact_replaces_every_value_in_strings_and_keys_longest_first() -> None:
    secrets = {"LONG": "abcdef", "PART": "abc", "EMPTY": ""}
    data = {"x abcdef": ["abc", "zabcdefz", 3, None], "n": 1.5, "t": ("abc",)}
    assert redact(data, secrets) == {
        "x [secret:LONG]": ["[secret:PART]", "z[secret:LONG]z", 3, None],
        "n": 1.5,
        "t": ["[secret:PART]"],
    }
    assert redact("nothing here", {}) == "nothing here"
    assert redact("", {"EMPTY": ""}) == ""


ERROR = StepError("E", "failed with s3cr3t-token", {"echo": "s3cr3t-token"})
CLEAN = StepError("E", "failed with [secret:API_TOKEN]", {"echo": "[secret:API_TOKEN]"})


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (AttemptSucceeded({"v": "s3cr3t-token"}), AttemptSucceeded({"v": "[secret:API_TOKEN]"})),
        (AttemptFailedBusiness(ERROR), AttemptFailedBusiness(CLEAN)),
        (
            AttemptFailedTechnical(ERROR, 0.5, timedelta(seconds=3)),
            AttemptFailedTechnical(CLEAN, 0.5, timedelta(seconds=3)),
        ),
        (AttemptOutcomeUnknown(ERROR, 0.25), AttemptOutcomeUnknown(CLEAN, 0.25)),
        (
            AttemptSuspended({"title": "s3cr3t-token"}, "signal"),
            AttemptSuspended({"title": "[secret:API_TOKEN]"}, "signal"),
        ),
        (ConditionFalse(), ConditionFalse()),
    ],
)
def test_redact_event_cleans_what_the_event_carries_to_storage(
    event: object, expected: object
) -> None:
    redacted = redact_event(event, {"API_TOKEN": "s3cr3t-token"})  # type: ignore[arg-type]
    assert redacted == expected
    error = getattr(redacted, "error", None)
    if error is not None:
        assert error.details == CLEAN.details  # details are not compared by ==
    assert redact_event(event, {}) is event  # type: ignore[arg-type]


def test_validation_lists_the_secrets_a_template_reads() -> None:
    info = inspect_template("{{ secret('A') }}-{{ secret('B_2') }}")
    assert info.errors == []
    assert info.secrets == frozenset({"A", "B_2"})


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ secret() }}", "secret() takes one literal name: secret('NAME')"),
        ("{{ secret('A', 'B') }}", "secret() takes one literal name: secret('NAME')"),
        ("{{ secret(name='A') }}", "secret() takes one literal name: secret('NAME')"),
        ("{{ secret(1) }}", "secret() takes one literal name: secret('NAME')"),
        (
            "{{ secret('a') }}",
            "a secret name is an uppercase letter, then uppercase letters, "
            "digits and underscores, got 'a'",
        ),
        ("{{ secret }}", "secret is a function: call it with a name, secret('NAME')"),
        ("{{ [secret][0]('A') }}", "secret is a function: call it with a name, secret('NAME')"),
    ],
)
def test_validation_refuses_secret_but_as_a_call_with_a_literal_name(
    template: str, message: str
) -> None:
    info = inspect_template(template)
    assert info.errors == [message]
    assert info.secrets == frozenset()


def test_the_environment_provider_and_the_chain() -> None:
    env = EnvironmentSecrets({"GOVFLOW_SECRET_API_TOKEN": "t1", "API_OTHER": "x"})
    assert env.get_secret("API_TOKEN") == "t1"
    assert env.get_secret("OTHER") is None
    lookup = secret_lookup(
        [env, EnvironmentSecrets({"GOVFLOW_SECRET_API_TOKEN": "t2", "GOVFLOW_SECRET_SECOND": "s"})]
    )
    assert lookup("API_TOKEN") == "t1"  # the first provider that knows it
    assert lookup("SECOND") == "s"
    assert lookup("NONE") is None


WORKFLOW = """
name: rehearsed-secret
title: Rehearsed secret
department: testing
steps:
  - id: call
    action: notification
    with: {channel: log, message: "token {{ secret('API_TOKEN') }}"}
"""


def test_a_rehearsal_takes_the_secrets_and_fails_an_unknown_one() -> None:
    run = rehearse(WORKFLOW, {}, {"call": {}}, secrets={"API_TOKEN": "t"})
    assert run.params["call"]["message"] == "token t"
    failed = rehearse(WORKFLOW, {}, {"call": {}})
    assert failed.error is not None
    assert failed.error.startswith("step 'call': unknown secret 'API_TOKEN'")


def test_a_session_asks_the_providers_once_per_name() -> None:
    asked: list[str] = []

    def lookup(name: str) -> str | None:
        asked.append(name)
        return f"value of {name}"

    session = SecretSession(lookup)
    assert [session("TOKEN"), session("TOKEN"), session("OTHER")] == [
        "value of TOKEN",
        "value of TOKEN",
        "value of OTHER",
    ]
    assert asked == ["TOKEN", "OTHER"]
    assert session.resolved == {"TOKEN": "value of TOKEN", "OTHER": "value of OTHER"}
