"""``/workflow-executions`` and ``POST /workflows/{workflow}/executions``: start, read,
operate (cancel, retry, resolve), wake up and recover executions."""
