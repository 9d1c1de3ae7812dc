"""``/workflow-executions`` and ``POST /workflows/{workflow_id}/executions``: start, read,
operate (cancel, retry, resolve), wake up and recover executions."""
