"""Typed plugin settings: where each field is read from, how text becomes its type, one line per
problem naming the variable, and secrets that never show."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import msgspec
import pytest

from govflow.plugins import Env, PluginSettingsError, Secret
from govflow.plugins.settings import (
    describe_settings,
    make_settings,
    plugin_environment,
    read_settings,
)

TOKEN = "tok-5ecr3t-value"


class HelloSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    base_url: Annotated[str, Env("HELLO_URL")]
    greeting: str = "Hello"
    timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    retries: Annotated[int, msgspec.Meta(ge=0)] = 3
    verbose: bool = False
    hosts: list[str] = msgspec.field(default_factory=list)
    api_token: Annotated[Secret | None, Env("HELLO_TOKEN")] = None
    user: str | None = None

    def __post_init__(self) -> None:
        if self.api_token and not self.user:
            raise ValueError("GOVFLOW_HELLO_API_TOKEN needs GOVFLOW_HELLO_USER")


def read(**env: str) -> HelloSettings:
    return read_settings("hello", HelloSettings, env)


def problems(**env: str) -> list[str]:
    with pytest.raises(PluginSettingsError) as caught:
        read(**env)
    assert caught.value.plugin == "hello"
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_defaults_and_the_plugin_prefix() -> None:
    settings = read(GOVFLOW_HELLO_BASE_URL="https://hello.example")
    assert settings == HelloSettings(base_url="https://hello.example")
    assert settings.timeout == 10.0
    assert settings.hosts == []


def test_text_becomes_the_field_type() -> None:
    settings = read(
        GOVFLOW_HELLO_BASE_URL="https://hello.example",
        GOVFLOW_HELLO_TIMEOUT=" 2.5 ",
        GOVFLOW_HELLO_RETRIES="0",
        GOVFLOW_HELLO_VERBOSE="Yes",
        GOVFLOW_HELLO_HOSTS="a.example, b.example,,",
    )
    assert (settings.timeout, settings.retries, settings.verbose) == (2.5, 0, True)
    assert settings.hosts == ["a.example", "b.example"]


@pytest.mark.parametrize(
    ("word", "value"), [("on", True), ("1", True), ("off", False), ("NO", False)]
)
def test_booleans_in_words(word: str, value: bool) -> None:
    assert read(GOVFLOW_HELLO_BASE_URL="u", GOVFLOW_HELLO_VERBOSE=word).verbose is value


def test_the_older_prefix_and_historic_names_are_read() -> None:
    assert read(GOVFLOW_PLUGIN_HELLO_BASE_URL="https://old.example").base_url == (
        "https://old.example"
    )
    assert read(HELLO_URL="https://historic.example").base_url == "https://historic.example"


def test_the_same_value_under_two_names_is_accepted() -> None:
    settings = read(GOVFLOW_HELLO_BASE_URL="https://a.example", HELLO_URL="https://a.example")
    assert settings.base_url == "https://a.example"


def test_two_names_of_one_field_disagreeing_is_a_problem() -> None:
    assert problems(GOVFLOW_HELLO_BASE_URL="https://a.example", HELLO_URL="https://b.example") == [
        "GOVFLOW_HELLO_BASE_URL: HELLO_URL is set to another value; set only one"
    ]


def test_an_empty_variable_is_unset() -> None:
    assert read(GOVFLOW_HELLO_BASE_URL="u", GOVFLOW_HELLO_TIMEOUT="").timeout == 10.0
    assert problems(GOVFLOW_HELLO_BASE_URL="  ") == [
        "GOVFLOW_HELLO_BASE_URL: required by plugin 'hello'"
    ]


def test_every_problem_is_one_line_naming_its_variable() -> None:
    found = problems(
        GOVFLOW_HELLO_TIMEOUT="-1",
        GOVFLOW_PLUGIN_HELLO_RETRIES="many",
        GOVFLOW_HELLO_VERBOSE="maybe",
    )
    assert found == [
        "GOVFLOW_HELLO_TIMEOUT: Expected `float` > 0.0",
        "GOVFLOW_PLUGIN_HELLO_RETRIES: Expected `int`, got `str`",
        "GOVFLOW_HELLO_VERBOSE: must be true or false (yes/no, on/off, 1/0)",
        "GOVFLOW_HELLO_BASE_URL: required by plugin 'hello'",
    ]


def test_a_rule_across_fields_names_the_plugin() -> None:
    assert problems(GOVFLOW_HELLO_BASE_URL="u", HELLO_TOKEN=TOKEN) == [
        "plugin 'hello' settings: GOVFLOW_HELLO_API_TOKEN needs GOVFLOW_HELLO_USER"
    ]


def test_a_secret_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    settings = read(GOVFLOW_HELLO_BASE_URL="u", HELLO_TOKEN=TOKEN, GOVFLOW_HELLO_USER="ada")
    token = settings.api_token
    assert token is not None
    assert token.reveal() == TOKEN
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(token)
    assert TOKEN not in f"{settings}"
    assert repr(token) == "Secret('***')"
    with caplog.at_level(logging.INFO):
        logging.getLogger("govflow.test").info("settings %s %r", settings, token)
    assert TOKEN not in caplog.text
    assert (
        TOKEN
        not in msgspec.json.encode(describe_settings("hello", HelloSettings, settings)).decode()
    )
    assert token == Secret(TOKEN)
    assert token != Secret("other")


def test_a_secret_is_not_echoed_in_a_problem() -> None:
    for line in problems(
        GOVFLOW_HELLO_BASE_URL="u", HELLO_TOKEN=TOKEN, GOVFLOW_HELLO_RETRIES=TOKEN
    ):
        assert TOKEN not in line


def test_describe_lists_variables_types_defaults_and_masked_values() -> None:
    settings = read(GOVFLOW_HELLO_BASE_URL="u", HELLO_TOKEN=TOKEN, GOVFLOW_HELLO_USER="ada")
    described = {info.name: info for info in describe_settings("hello", HelloSettings, settings)}
    base = described["base_url"]
    assert (base.variable, base.also) == (
        "GOVFLOW_HELLO_BASE_URL",
        ["GOVFLOW_PLUGIN_HELLO_BASE_URL", "HELLO_URL"],
    )
    assert (base.required, base.default, base.value) == (True, None, "u")
    token = described["api_token"]
    assert (token.secret, token.type, token.value) == (True, "secret", "***")
    assert described["timeout"].type == "number"
    assert described["hosts"].type == "list of text (comma-separated)"
    assert (described["verbose"].default, described["verbose"].value) == ("false", "false")
    assert described["user"].value == "ada"
    unset = {info.name: info for info in describe_settings("hello", HelloSettings)}
    assert unset["api_token"].value is None


def test_make_settings_converts_like_the_environment() -> None:
    settings = make_settings(HelloSettings, "hello", base_url="u", retries="5", verbose=True)
    assert (settings.retries, settings.verbose) == (5, True)
    with pytest.raises(PluginSettingsError, match="GOVFLOW_HELLO_RETRIES"):
        make_settings(HelloSettings, "hello", base_url="u", retries="-1")
    with pytest.raises(TypeError, match="no setting"):
        make_settings(HelloSettings, "hello", base_url="u", colour="red")


def test_the_env_file_is_read_under_the_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("GOVFLOW_HELLO_BASE_URL=https://file.example\nGOVFLOW_HELLO_RETRIES=1\n")
    env = plugin_environment({"GOVFLOW_HELLO_RETRIES": "2"}, env_file)
    settings = read_settings("hello", HelloSettings, env)
    assert (settings.base_url, settings.retries) == ("https://file.example", 2)
    assert plugin_environment({"A": "1"}, tmp_path / "absent") == {"A": "1"}
