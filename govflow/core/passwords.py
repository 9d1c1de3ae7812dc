"""The password policy: what a password must be, as human-readable problems."""

from __future__ import annotations

MIN_LENGTH = 12
MAX_LENGTH = 256


def password_problems(password: str) -> list[str]:
    """Every way ``password`` breaks the policy; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    if not any(c.islower() for c in password):
        problems.append("must contain a lowercase letter")
    if not any(c.isupper() for c in password):
        problems.append("must contain an uppercase letter")
    if not any(c.isdigit() for c in password):
        problems.append("must contain a digit")
    if password.strip() != password:
        problems.append("must not start or end with white space")
    return problems
