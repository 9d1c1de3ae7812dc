"""``/jira``: the Jira connection test."""
