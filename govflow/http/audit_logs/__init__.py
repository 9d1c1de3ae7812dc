"""``/audit-logs``: read the audit log, add manual entries."""
