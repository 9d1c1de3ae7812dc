"""``/tasks``: human tasks read and acted on; every role, within its department (the task's
lifecycle decides who may take which action)."""
