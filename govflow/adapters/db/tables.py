"""Piccolo tables mapping the schema that ``migrations/`` creates.

The migrations are the source of truth; ``tests/integration/test_schema.py`` proves that these
declarations and the migrated schema agree column by column. A column whose values come from an
enum in ``govflow/core`` names it as its ``choices``: ``tests/integration/test_sql_literals.py``
checks that each such column has a CHECK constraint allowing exactly the enum's values.
"""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.column_types import UUID
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from govflow.core.idempotency import Idempotency
from govflow.core.roles import Role
from govflow.core.statuses import AttemptOutcome, ExecutionStatus, HumanTaskStatus, StepStatus
from govflow.core.tasks.model import OnReject


class Department(Table, tablename="departments"):
    id = UUID(primary_key=True)
    code = Varchar(length=64, unique=True)
    name = Varchar(length=200)
    description = Text(default="")
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="users"):
    id = UUID(primary_key=True)
    email = Varchar(length=320)
    full_name = Varchar(length=200, default="")
    password_hash = Text()
    role = Varchar(length=16, choices=Role)
    department_id = ForeignKey(Department, null=True, db_column_name="department_id")
    is_active = Boolean(default=True)
    token_version = Integer(default=0)
    last_login_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class RefreshToken(Table, tablename="refresh_tokens"):
    id = UUID(primary_key=True)
    user_id = ForeignKey(User, null=False, db_column_name="user_id")
    family_id = UUID()
    token_hash = Varchar(length=128, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    rotated_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    client_ip = Varchar(length=64, null=True, default=None)
    user_agent = Varchar(length=512, null=True, default=None)


class PasswordResetToken(Table, tablename="password_reset_tokens"):
    id = UUID(primary_key=True)
    user_id = ForeignKey(User, null=False, db_column_name="user_id")
    token_hash = Varchar(length=128, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class AuditLog(Table, tablename="audit_logs"):
    id = BigSerial(primary_key=True)
    occurred_at = Timestamptz(default=TimestamptzNow())
    action = Varchar(length=100)
    actor_id = UUID(null=True, default=None)
    actor_email = Varchar(length=320, null=True, default=None)
    entity_type = Varchar(length=64, null=True, default=None)
    entity_id = Varchar(length=64, null=True, default=None)
    department_id = UUID(null=True, default=None)
    request_id = Varchar(length=64, null=True, default=None)
    reason = Text(null=True, default=None)
    metadata = JSONB(default={})


class Workflow(Table, tablename="workflows"):
    id = UUID(primary_key=True)
    name = Varchar(length=100, unique=True)
    title = Varchar(length=200, default="")
    description = Text(default="")
    department_id = ForeignKey(Department, null=True, db_column_name="department_id")
    is_active = Boolean(default=True)
    current_version_id: ForeignKey[WorkflowVersion] = ForeignKey(
        LazyTableReference("WorkflowVersion", module_path=__name__),
        null=True,
        db_column_name="current_version_id",
    )
    created_by = ForeignKey(User, null=True, db_column_name="created_by")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class WorkflowVersion(Table, tablename="workflow_versions"):
    id = UUID(primary_key=True)
    workflow_id = ForeignKey(Workflow, null=False, db_column_name="workflow_id")
    version = Integer()
    content_hash = Varchar(length=64)
    spec = JSONB()
    source = Text()
    source_path = Varchar(length=1000, null=True, default=None)
    created_by = ForeignKey(User, null=True, db_column_name="created_by")
    created_at = Timestamptz(default=TimestamptzNow())


class WorkflowStep(Table, tablename="workflow_steps"):
    id = UUID(primary_key=True)
    workflow_version_id = ForeignKey(
        WorkflowVersion, null=False, db_column_name="workflow_version_id"
    )
    position = Integer()
    step_key = Varchar(length=64)
    action = Varchar(length=100)
    config = JSONB(default={})


class Execution(Table, tablename="executions"):
    id = UUID(primary_key=True)
    workflow_id = ForeignKey(Workflow, null=False, db_column_name="workflow_id")
    workflow_version_id = ForeignKey(
        WorkflowVersion, null=False, db_column_name="workflow_version_id"
    )
    department_id = ForeignKey(Department, null=True, db_column_name="department_id")
    status = Varchar(length=20, default=ExecutionStatus.PENDING, choices=ExecutionStatus)
    inputs = JSONB(default={})
    vars = JSONB(default={})
    deadline_at = Timestamptz(null=True, default=None)
    parent_execution_id = UUID(null=True, default=None)
    """The execution whose ``workflow`` step started this one (a foreign key)."""
    parent_step_id = UUID(null=True, default=None)
    """That ``workflow`` step (a foreign key; one child per step)."""
    depth = Integer(default=0)
    runnable_steps = Integer(null=True, default=None)
    """A graph's steps runnable (due, their needs settled) or running; ``None`` for a list."""
    error = JSONB(null=True, default=None)
    idempotency_key = Varchar(length=200, null=True, default=None)
    created_by = ForeignKey(User, null=True, db_column_name="created_by")
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class ExecutionStep(Table, tablename="execution_steps"):
    id = UUID(primary_key=True)
    execution_id = ForeignKey(Execution, null=False, db_column_name="execution_id")
    position = Integer()
    step_key = Varchar(length=64)
    action = Varchar(length=100)
    status = Varchar(length=20, default=StepStatus.PENDING, choices=StepStatus)
    attempt = Integer(default=0)
    max_attempts = Integer(default=1)
    next_attempt_at = Timestamptz(null=True, default=None)
    enqueued_at = Timestamptz(null=True, default=None)
    lease_owner = Varchar(length=200, null=True, default=None)
    lease_expires_at = Timestamptz(null=True, default=None)
    fencing_token = BigInt(default=0)
    attempt_started = Boolean(default=False)
    idempotency_key = Varchar(length=200)
    output = JSONB(null=True, default=None)
    error = JSONB(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    idempotency = Varchar(length=20, null=True, default=None, choices=Idempotency)
    params = JSONB(null=True, default=None)
    continue_on_error = Boolean(default=False)
    wait_reason = Varchar(length=64, null=True, default=None)
    progress = JSONB(null=True, default=None)
    progress_at = Timestamptz(null=True, default=None)
    resume_token_hash = Varchar(length=64, null=True, default=None)
    handbacks = Integer(default=0)
    dependents = Array(Integer(), null=True, default=None)
    """A step of a graph: the positions of the steps that need it (``None``: a list's step)."""
    needs_left = Integer(default=0)
    """A step of a graph: how many of its needs have not settled yet (migration 0021)."""
    wake_at = Timestamptz(null=True, default=None)
    """A step waiting on a timer (``wait``): when it is due (migration 0026)."""


class ExecutionStepAttempt(Table, tablename="execution_step_attempts"):
    id = BigSerial(primary_key=True)
    execution_step_id = ForeignKey(ExecutionStep, null=False, db_column_name="execution_step_id")
    attempt = Integer()
    fencing_token = BigInt()
    worker = Varchar(length=200, null=True, default=None)
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
    outcome = Varchar(length=32, null=True, default=None, choices=AttemptOutcome)
    output = JSONB(null=True, default=None)
    error = JSONB(null=True, default=None)


class ExecutionStepItem(Table, tablename="execution_step_items"):
    """The result of one item of a ``foreach`` step, kept when the item ends (migration 0024)."""

    id = BigSerial(primary_key=True)
    execution_step_id = ForeignKey(ExecutionStep, null=False, db_column_name="execution_step_id")
    item_index = Integer()
    fencing_token = BigInt()
    output = JSONB()
    finished_at = Timestamptz(default=TimestamptzNow())


class Worker(Table, tablename="workers"):
    """A worker process, the plugins and actions it offers, and its liveness heartbeat."""

    id = Varchar(length=200, primary_key=True)
    hostname = Varchar(length=255)
    pid = Integer()
    plugins = JSONB(default="{}")
    actions = JSONB(default="[]")
    started_at = Timestamptz(default=TimestamptzNow())
    heartbeat_at = Timestamptz(default=TimestamptzNow())


class HumanTask(Table, tablename="human_tasks"):
    id = UUID(primary_key=True)
    execution_id = ForeignKey(Execution, null=True, db_column_name="execution_id")
    execution_step_id = ForeignKey(ExecutionStep, null=True, db_column_name="execution_step_id")
    department_id = ForeignKey(Department, null=True, db_column_name="department_id")
    title = Varchar(length=500)
    description = Text(default="")
    status = Varchar(length=20, default=HumanTaskStatus.OPEN, choices=HumanTaskStatus)
    assignee_id = ForeignKey(User, null=True, db_column_name="assignee_id")
    assignee_role = Varchar(length=16, null=True, default=None, choices=Role)
    reviewer_role = Varchar(length=16, null=True, default=None, choices=Role)
    form = JSONB(default={})
    submission = JSONB(null=True, default=None)
    submitted_by = ForeignKey(User, null=True, db_column_name="submitted_by")
    submitted_at = Timestamptz(null=True, default=None)
    decision = Varchar(length=16, null=True, default=None)
    decided_by = ForeignKey(User, null=True, db_column_name="decided_by")
    decided_at = Timestamptz(null=True, default=None)
    rejection_reason = Text(null=True, default=None)
    due_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, null=True, db_column_name="created_by")
    offer_department_id = ForeignKey(Department, null=True, db_column_name="offer_department_id")
    offer_users = JSONB(default=[])
    reviewer_department_id = ForeignKey(
        Department, null=True, db_column_name="reviewer_department_id"
    )
    reviewer_users = JSONB(default=[])
    approvals_required = Integer(default=1)
    approvals = JSONB(default=[])
    starter_cannot_approve = Boolean(default=False)
    on_reject = Varchar(length=8, default=OnReject.REWORK, choices=OnReject)
    escalate_to = JSONB(null=True, default=None)
    rejections = Integer(default=0)
    overdue = Boolean(default=False)
    escalated = Boolean(default=False)
    notify = JSONB(null=True, default=None)


class HttpIdempotencyKey(Table, tablename="http_idempotency_keys"):
    id = BigSerial(primary_key=True)
    user_id = UUID()
    key = Varchar(length=200)
    method = Varchar(length=10)
    path = Varchar(length=1000)
    request_hash = Varchar(length=64)
    response_status = Integer(null=True, default=None)
    response_body = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()


class AuditSeal(Table, tablename="audit_seals"):
    id = BigSerial(primary_key=True)
    first_id = BigInt()
    last_id = BigInt()
    row_count = Integer()
    previous_hash = Varchar(length=64)
    hash = Varchar(length=64)
    sealed_at = Timestamptz(default=TimestamptzNow())
    mac = Varchar(length=64)


class TaskNotification(Table, tablename="task_notifications"):
    """The outbox of human-task notifications (``sql/task_deadlines.sql``)."""

    id = BigSerial(primary_key=True)
    key = Varchar(length=200, unique=True)
    task_id = ForeignKey(HumanTask, null=False, db_column_name="task_id")
    why = Varchar(length=32)
    recipients = JSONB()
    channel = JSONB()
    message = Text()
    attempts = Integer(default=0)
    in_flight = Boolean(default=False)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    last_error = Text(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    given_up_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class TriggerSchedule(Table, tablename="trigger_schedules"):
    """The newest slot each workflow's schedule entry handled (``sql/triggers.sql``); the
    primary key is (workflow_id, entry) (migration 0029)."""

    workflow_id = ForeignKey(Workflow, null=False, primary_key=True, db_column_name="workflow_id")
    entry = Integer(default=0)
    last_slot = Timestamptz()
    last_fired_slot = Timestamptz(null=True, default=None)
    last_execution_id = ForeignKey(Execution, null=True, db_column_name="last_execution_id")
    updated_at = Timestamptz(default=TimestamptzNow())


ALL_TABLES: tuple[type[Table], ...] = (
    Department,
    User,
    RefreshToken,
    PasswordResetToken,
    AuditLog,
    Workflow,
    WorkflowVersion,
    WorkflowStep,
    Execution,
    ExecutionStep,
    ExecutionStepAttempt,
    ExecutionStepItem,
    Worker,
    HumanTask,
    TaskNotification,
    HttpIdempotencyKey,
    AuditSeal,
    TriggerSchedule,
)
