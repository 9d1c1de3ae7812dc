"""``/departments``: read by ADMIN and MANAGER (own department), written by ADMIN."""
