"""The human-task lifecycle (TaskFlow's), pure: a transition table and the decisions on it.

- :mod:`~govflow.core.tasks.vocabulary` — statuses, actions, audit names.
- :mod:`~govflow.core.tasks.table` — the one transition table.
- :mod:`~govflow.core.tasks.model` — the task, the actor, the actions, the commands.
- :mod:`~govflow.core.tasks.rules` — who may do what.
- :mod:`~govflow.core.tasks.forms` — typed form fields and their validation.
- :mod:`~govflow.core.tasks.decide` — :func:`decide_task` and :func:`create_task`.
- :mod:`~govflow.core.tasks.deadlines` — overdue and escalation decisions.
- :mod:`~govflow.core.tasks.refusals` — the typed refusals.
"""
