"""``/users``: user administration (ADMIN)."""
