"""Resume tokens, progress values and the load warning, without any server."""

from __future__ import annotations

import pytest

from govflow.usecases.fleet import unoffered, unoffered_warning
from govflow.usecases.long_actions import (
    new_resume_token,
    progress_value,
    token_hash,
    token_matches,
)


def test_a_resume_token_matches_only_its_own_hash() -> None:
    token = new_resume_token()
    assert len(token) >= 40
    assert token != new_resume_token()
    assert token_matches(token, token_hash(token))
    assert not token_matches(token + "x", token_hash(token))
    assert not token_matches(token, None)
    assert not token_matches(token, "")
    assert token not in token_hash(token)


@pytest.mark.parametrize("value", ["half way", 50, 0.5, None])
def test_progress_takes_texts_numbers_and_nothing(value: object) -> None:
    assert progress_value(value) == value


def test_progress_copies_a_mapping() -> None:
    original = {"done": 1}
    copied = progress_value(original)
    assert copied == original
    assert copied is not original


@pytest.mark.parametrize("value", [[1, 2], {1, 2}, object()])
def test_progress_refuses_anything_else(value: object) -> None:
    with pytest.raises(TypeError, match="progress must be"):
        progress_value(value)


def test_the_load_warning_names_the_actions_nobody_offers() -> None:
    assert unoffered(["b", "a", "c", "a"], {"c"}) == ["a", "b"]
    assert unoffered(["a"], None) == ["a"]
    assert unoffered_warning(["a", "c"], {"a", "c"}) is None
    warning = unoffered_warning(["jira_comment", "manual"], {"manual"})
    assert warning is not None
    assert warning.startswith("no live worker offers the action(s) jira_comment:")
    idle = unoffered_warning(["manual"], None)
    assert idle == "no live worker: nothing will run the actions manual until a worker starts"
