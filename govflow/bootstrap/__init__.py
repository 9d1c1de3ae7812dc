"""The composition root: the one place that builds GovFlow's adapters, for every process.

``govflow.http`` and ``govflow.cli`` never import :mod:`govflow.adapters` (an import-linter
contract keeps it so); what they need comes from here, one module per concern:

- :mod:`~govflow.bootstrap.graph`: the object graph every process runs on (:func:`container`):
  stores, use cases, queue, plugins;
- :mod:`~govflow.bootstrap.api`: the HTTP edge's use cases, access tokens, password hashing and
  denial audit;
- :mod:`~govflow.bootstrap.instance`: service URLs, embedded servers, a command's lifetime,
  logging, what a database problem means to an operator;
- :mod:`~govflow.bootstrap.database`: migrations, roles, seeding, users created from the CLI;
- :mod:`~govflow.bootstrap.audit`: sealing and verifying the audit log.
"""

from __future__ import annotations

from govflow.bootstrap.graph import Container, container

__all__ = ["Container", "container"]
