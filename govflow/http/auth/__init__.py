"""``/auth``: login, token refresh, logout, the caller, password reset and change."""
