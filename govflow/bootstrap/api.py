"""What the HTTP edge runs on: its use cases (built once per app from the started container),
the access tokens and password hashing it authenticates with, and the denial audit.

``govflow.http`` imports these from here, never from :mod:`govflow.adapters`.
"""

from __future__ import annotations

from dataclasses import dataclass

from govflow.adapters.db.audit_logs import PgAuditLogStore
from govflow.adapters.db.departments import PgDepartmentStore
from govflow.adapters.db.http_idempotency import PgKeyStore
from govflow.adapters.db.tokens import PgAuthStore
from govflow.adapters.db.users import PgUserStore
from govflow.adapters.reset_delivery import NotificationResetDelivery
from govflow.adapters.security.denial_counter import PoolAuditAppender, RedisDenialCounter
from govflow.adapters.security.known_sources import RedisKnownSources
from govflow.adapters.security.passwords import Passwords
from govflow.adapters.security.rate_limit import RedisRateCounter
from govflow.adapters.security.refusals import RedisRefusalTally
from govflow.adapters.security.throttle import Throttle
from govflow.adapters.security.tokens import (
    AccessTokens,
    InvalidToken,
    hash_opaque_token,
    new_opaque_token,
)
from govflow.bootstrap.graph import Container
from govflow.settings import Mode, Settings
from govflow.usecases.audit_logs import AuditLogs
from govflow.usecases.auth import RESET_TTL, Auth
from govflow.usecases.denials import DenialAudit
from govflow.usecases.departments import Departments
from govflow.usecases.idempotency_keys import IdempotencyKeys, KeyPolicy
from govflow.usecases.login_guard import Guard, GuardPolicy
from govflow.usecases.password_reset import PasswordReset
from govflow.usecases.rate_limits import RateLimits, RatePolicy
from govflow.usecases.registration import Registration
from govflow.usecases.users import Users

__all__ = [
    "AccessTokens",
    "Api",
    "InvalidToken",
    "OpaqueTokens",
    "Passwords",
    "access_tokens",
    "build_api",
    "denial_audit",
    "passwords",
    "redis_prefix",
]


def passwords(settings: Settings) -> Passwords:
    """Password hashing: argon2id, with the cheapest parameters in test mode only."""
    return Passwords(cheap=settings.mode is Mode.TEST)


def access_tokens(settings: Settings, secret: str) -> AccessTokens:
    """Access tokens signed with ``secret`` (HMAC), with the configured issuer, audience, TTL."""
    return AccessTokens(
        secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.jwt_access_ttl_seconds,
    )


class OpaqueTokens:
    """Random refresh/reset tokens and their stored digests."""

    def new(self) -> str:
        return new_opaque_token()

    def digest(self, token: str) -> str:
        return hash_opaque_token(token)


def redis_prefix(queue_name: str) -> str:
    """The Redis key prefix of this deployment: the queue name's namespace (``govflow``)."""
    prefix, _, _ = queue_name.rpartition(":")
    return prefix or queue_name


@dataclass(frozen=True, slots=True)
class Api:
    """Everything a controller needs, as dependencies."""

    services: Container
    auth: Auth
    password_reset: PasswordReset
    users: Users
    departments: Departments
    audit_logs: AuditLogs
    idempotency: IdempotencyKeys
    rate_limits: RateLimits
    registration: Registration


def build_api(services: Container, passwords: Passwords, tokens: AccessTokens) -> Api:
    settings = services.settings
    prefix = redis_prefix(settings.queue_name)
    store = PgAuthStore(services.db)
    guard = Guard(
        Throttle(services.redis, prefix=prefix),
        RedisKnownSources(services.redis, prefix=prefix),
        RedisRefusalTally(services.redis, prefix=prefix),
        store,
        GuardPolicy(
            max_attempts=settings.login_max_attempts,
            window_seconds=settings.login_window_seconds,
            account_max_attempts=settings.login_account_max_attempts,
            known_source_seconds=settings.refresh_ttl_seconds,
        ),
    )
    opaque = OpaqueTokens()
    auth = Auth(
        store,
        passwords,
        tokens,
        guard,
        opaque,
        background_hasher=passwords.background,
        refresh_ttl_seconds=settings.refresh_ttl_seconds,
    )
    password_reset = PasswordReset(
        store,
        passwords.background,
        opaque,
        guard,
        log_reset_tokens=settings.mode in (Mode.DEVELOPMENT, Mode.TEST),
        delivery=NotificationResetDelivery(
            services.actions,
            services.plugin_settings.for_plugin,
            services.http,
            ttl_minutes=int(RESET_TTL.total_seconds() // 60),
            resources=services.plugins.resources,
        ),
    )
    users_store = PgUserStore(services.db)
    return Api(
        services=services,
        auth=auth,
        password_reset=password_reset,
        users=Users(users_store, passwords.background),
        departments=Departments(PgDepartmentStore(services.db)),
        audit_logs=AuditLogs(PgAuditLogStore(services.db)),
        idempotency=IdempotencyKeys(
            PgKeyStore(services.db), KeyPolicy(ttl_seconds=settings.idempotency_key_ttl_seconds)
        ),
        rate_limits=rate_limits(services),
        registration=Registration(
            users_store, passwords.background, guard, enabled=settings.allow_registration
        ),
    )


def rate_limits(services: Container) -> RateLimits:
    """The request rate limits of the settings, counted in Redis."""
    settings = services.settings
    global_ceiling, client_ceiling = settings.rate_limits
    return RateLimits(
        RedisRateCounter(services.redis, prefix=redis_prefix(settings.queue_name)),
        RatePolicy(
            global_ceiling=global_ceiling,
            client_ceiling=client_ceiling,
            window_seconds=settings.rate_limit_window_seconds,
        ),
    )


def denial_audit(services: Container) -> DenialAudit:
    """Denials counted in Redis (shared by every API worker), flushed to the audit log."""
    settings = services.settings
    return DenialAudit(
        RedisDenialCounter(services.redis, prefix=redis_prefix(settings.queue_name)),
        PoolAuditAppender(services.db.pool),
        window_seconds=settings.denial_audit_window_seconds,
    )
