"""Settings read from the environment (and an optional ``.env``), validated once at start.

Every variable is documented in ``.env.example``. A malformed or missing value is reported as
one line naming the variable; the CLI exits with status 2. Plugins' settings (Jira's
``JIRA_*`` among them) are not declared here: each plugin declares its own
(:mod:`govflow.plugins.settings`), and none may read a variable :func:`core_variables` names.
"""

from __future__ import annotations

import ipaddress
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class SettingsError(Exception):
    """The environment does not describe a valid GovFlow configuration."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """GovFlow's configuration. Field names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    mode: Mode = Field(
        default=Mode.DEVELOPMENT, validation_alias=AliasChoices("GOVFLOW_MODE", "MODE")
    )
    govflow_home: Path = Path(".govflow")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_workers: int = Field(default=1, ge=1, le=64)
    database_url: str | None = None
    migration_database_url: str | None = None
    redis_url: str | None = None
    db_pool_min: int = Field(default=2, ge=1, le=100)
    db_pool_max: int = Field(default=10, ge=1, le=500)
    jwt_secret: str | None = Field(default=None, min_length=32)
    jwt_issuer: str = "govflow"
    jwt_audience: str = "govflow-api"
    jwt_access_ttl_seconds: int = Field(default=900, ge=30, le=86400)
    refresh_ttl_seconds: int = Field(default=14 * 86400, ge=300)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field(default="console", pattern="^(json|console)$")
    workflows_dir: Path = Path("workflows.d")
    worker_concurrency: int = Field(default=10, ge=1, le=1000)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    scheduler_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    otel_exporter_otlp_endpoint: str | None = None
    """Tracing: the OTLP/HTTP collector (the ``otel`` extra); unset, no tracing."""
    worker_memory_limit_mb: int = Field(default=1024, ge=0)
    lease_seconds: int = Field(default=30, ge=2, le=3600)
    step_round_max_wait_us: int = Field(default=200, ge=0, le=100_000)
    """Group commit: microseconds a round of step claims and finishes stays open at most while
    more of them keep joining it (it closes sooner once none is ready)."""
    step_round_max_rows: int = Field(default=64, ge=1, le=1000)
    """Group commit: claims and finishes one statement carries at most (1: one statement
    each)."""
    step_round_in_flight: int = Field(default=1, ge=1, le=64)
    """Group commit: rounds a worker sends at once, the next ones forming meanwhile (1: the steps
    that get ready while a round is written all go in the next one)."""
    sweep_interval_seconds: float = Field(default=2.0, gt=0, le=300)
    unclaimed_resend_seconds: float = Field(default=5.0, gt=0, le=3600)
    max_workflow_depth: int = Field(default=5, ge=1, le=50)
    """How deeply ``workflow`` steps may nest child executions (a top-level one is at 0)."""
    foreach_max_items: int = Field(default=1000, ge=1, le=10_000)
    """How many items one ``foreach`` step may run (beyond it the step fails,
    ``FOREACH_TOO_MANY_ITEMS``); at most ``FOREACH_ITEMS_CEILING``."""
    start_round_max_wait_us: int = Field(default=200, ge=0, le=100_000)
    """Group commit of starts: how long (microseconds) a round of starts stays open at most
    while more starts keep joining it; 0: a round takes the starts already waiting only."""
    start_round_max_rows: int = Field(default=64, ge=1, le=1000)
    """Group commit of starts: the starts one statement creates at most; 1: one statement per
    start (no rounds)."""
    queue_name: str = Field(default="govflow:steps", min_length=1)
    login_max_attempts: int = Field(default=10, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    login_account_max_attempts: int = Field(default=100, ge=1)
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)
    denial_audit_window_seconds: int = Field(default=60, ge=1, le=3600)
    idempotency_key_ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limit_global: int | None = Field(default=None, ge=0)
    rate_limit_per_client: int | None = Field(default=None, ge=0)
    allow_registration: bool = False
    outbound_allow_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    audit_seal_key: str | None = Field(default=None, min_length=32)
    audit_anchor_path: Path | None = None
    audit_witness_url: str | None = None

    @field_validator(
        "database_url",
        "migration_database_url",
        "redis_url",
        "jwt_secret",
        "audit_seal_key",
        "audit_anchor_path",
        "audit_witness_url",
        "worker_metrics_port",
        "scheduler_metrics_port",
        "otel_exporter_otlp_endpoint",
        "rate_limit_global",
        "rate_limit_per_client",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("outbound_allow_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        networks = _split_csv(value)
        for entry in networks if isinstance(networks, list) else []:
            try:
                ipaddress.ip_network(str(entry), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP network (e.g. 10.20.0.0/16)") from None
        return networks

    @field_validator("audit_witness_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgres://", "postgresql://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _required_outside_development(self) -> Settings:
        if self.mode is Mode.PRODUCTION:
            missing = [
                name
                for name, value in (
                    ("JWT_SECRET", self.jwt_secret),
                    ("DATABASE_URL", self.database_url),
                    ("REDIS_URL", self.redis_url),
                    ("AUDIT_SEAL_KEY", self.audit_seal_key),
                )
                if not value
            ]
            if missing:
                raise ValueError("required in production mode: " + ", ".join(missing))
        if self.db_pool_min > self.db_pool_max:
            raise ValueError("DB_POOL_MIN must not exceed DB_POOL_MAX")
        return self

    @property
    def rate_limits(self) -> tuple[int, int]:
        """Requests per window for the whole deployment and per client (``0``: off). Unset,
        they are 20000 and 1200 per minute, and off in test mode."""
        defaults = (0, 0) if self.mode is Mode.TEST else (20000, 1200)
        return (
            defaults[0] if self.rate_limit_global is None else self.rate_limit_global,
            defaults[1] if self.rate_limit_per_client is None else self.rate_limit_per_client,
        )

    @property
    def is_development(self) -> bool:
        return self.mode is Mode.DEVELOPMENT

    @property
    def home(self) -> Path:
        return self.govflow_home.resolve()


def core_variables() -> frozenset[str]:
    """The environment variables GovFlow's own settings read (``GOVFLOW_MODE``, ``MODE``,
    ``DATABASE_URL``, ...): no plugin setting may be read from one of them."""
    names: set[str] = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        else:
            names.add(name.upper())
    return frozenset(names)


def _field_env_name(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "settings"
    name = str(loc[0])
    return "GOVFLOW_MODE" if name == "mode" else name.upper()


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings.

    :raises SettingsError: one problem per malformed or missing variable.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error.get("loc", ())
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            where = _field_env_name(tuple(loc))
            problems.append(f"{message}" if where == "settings" else f"{where}: {message}")
        raise SettingsError(problems) from None


def development_jwt_secret(home: Path) -> tuple[str, bool]:
    """The development-mode signing secret kept under ``home``; ``True`` when it was created."""
    path = home / "jwt_secret"
    if path.exists():
        return path.read_text().strip(), False
    home.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret, True
