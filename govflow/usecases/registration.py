"""Self-registration (``ALLOW_REGISTRATION``): anyone may open an OPERATOR account without a
department; it reaches nothing department-scoped until an ADMIN assigns it one.

A registration is answered in two parts, as a password-reset request is: :meth:`admit` checks
what does not depend on existing accounts (the password policy, then the login throttle, which
counts the attempt against the client's address and the address and account pair) and the
answer is sent; :meth:`create` then hashes the password and stores the account, audited
``USER_REGISTERED``, or does nothing when the address is taken. The answer is therefore the
same, and as fast, for a new address and a registered one: registration tells nobody which
addresses have accounts.
"""

from __future__ import annotations

from uuid import uuid4

import structlog

from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role
from govflow.usecases.access_errors import FieldConflictError
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.auth import ClientInfo, Hasher, check_policy
from govflow.usecases.login_guard import Guard
from govflow.usecases.users import NewUser, UserStore

PASSWORD_FIELD = "body.password"  # noqa: S105 - a field path, not a secret

log = structlog.get_logger("govflow.registration")


class Registration:
    """See the module docstring."""

    def __init__(self, store: UserStore, hasher: Hasher, guard: Guard, *, enabled: bool) -> None:
        self._store = store
        self._hasher = hasher
        self._guard = guard
        self.enabled = enabled

    async def admit(self, email: str, password: str, client: ClientInfo) -> str:
        """The checks before the answer; the address as it will be stored.

        :raises InvalidInputError: the password breaks the policy (``body.password``).
        :raises RateLimitedError: the login throttle refuses the client.
        """
        check_policy(PASSWORD_FIELD, password)
        account = email.strip().lower()
        await self._guard.login(account, client.ip, client.request_id)
        return account

    async def create(self, email: str, password: str, full_name: str, client: ClientInfo) -> None:
        """Store the account (after the answer); nothing when the address is taken."""
        user_id = uuid4()
        password_hash = await self._hasher.hash(password)
        entry = AuditEntry(
            action=AuditEvent.USER_REGISTERED,
            actor=Actor(user_id=user_id, email=email, role=Role.OPERATOR, name=email),
            entity_type="user",
            entity_id=str(user_id),
            request_id=client.request_id,
            metadata={"email": email, "role": Role.OPERATOR.value, "ip": client.ip},
        )
        user = NewUser(email=email, full_name=full_name, password=password, role=Role.OPERATOR)
        try:
            await self._store.create(user_id, user, password_hash, [entry])
        except FieldConflictError:
            log.info("registration_address_taken", request_id=client.request_id)
