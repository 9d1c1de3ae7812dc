"""A task's ``notify`` channel as ``GET /tasks/{id}`` shows it: the events it hears of, a
signing secret by name, a URL's password masked (also in a URL that does not parse)."""

from __future__ import annotations

from govflow.usecases.task_views import notify_view


def test_a_url_without_a_password_is_shown_as_given() -> None:
    shown = notify_view({"channel": "webhook", "url": "https://bot@hooks.example.org/x?a=1"})
    assert shown.url == "https://bot@hooks.example.org/x?a=1"
    assert shown.on == ["assigned", "overdue"]


def test_a_password_is_masked_and_the_secret_shown_by_name() -> None:
    shown = notify_view(
        {
            "channel": "webhook",
            "url": "http://:s3cret@127.0.0.1:8080/hooks/",
            "secret": "hook",
            "on": ["created"],
        }
    )
    assert (shown.url, shown.secret, shown.on) == (
        "http://:***@127.0.0.1:8080/hooks/",
        "[secret:hook]",
        ["created"],
    )


def test_a_url_that_does_not_parse_is_masked_whole() -> None:
    assert notify_view({"channel": "webhook", "url": "http://[::1/x"}).url == "***"
