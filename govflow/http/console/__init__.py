"""The GovFlow console: server-rendered pages under ``/ui`` (Jinja2 templates, htmx, vendored
static files) over the same use cases as the API.

- :mod:`~govflow.http.console.app` — the console's own Litestar app, mounted at ``/ui``.
- :mod:`~govflow.http.console.session` — the signed session and CSRF cookies.
- :mod:`~govflow.http.console.viewer` — who is signed in (tokens verified, refreshed).
- :mod:`~govflow.http.console.pages` — rendering, flash messages, error pages.
- :mod:`~govflow.http.console.auth_pages` — sign-in, sign-out, password change and reset.
- :mod:`~govflow.http.console.task_pages` — My tasks: the inbox and the task page.
- :mod:`~govflow.http.console.form_inputs` — a task's form as inputs, and the posted values.
"""
