-- GovFlow's initial schema: people, workflows, executions, human tasks, audit.

CREATE TABLE departments (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code        varchar(64) NOT NULL UNIQUE,
    name        varchar(200) NOT NULL,
    description text NOT NULL DEFAULT '',
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email          varchar(320) NOT NULL,
    full_name      varchar(200) NOT NULL DEFAULT '',
    password_hash  text NOT NULL,
    role           varchar(16) NOT NULL CHECK (role IN ('ADMIN', 'MANAGER', 'OPERATOR')),
    department_id  uuid REFERENCES departments (id),
    is_active      boolean NOT NULL DEFAULT true,
    token_version  integer NOT NULL DEFAULT 0,
    last_login_at  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE refresh_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id    uuid NOT NULL,
    token_hash   varchar(128) NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    client_ip    varchar(64),
    user_agent   varchar(512)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE password_reset_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  varchar(128) NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE TABLE audit_logs (
    id             bigserial PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    action         varchar(100) NOT NULL,
    actor_id       uuid,
    actor_email    varchar(320),
    entity_type    varchar(64),
    entity_id      varchar(64),
    department_id  uuid,
    request_id     varchar(64),
    reason         text,
    metadata       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_logs_action ON audit_logs (action, occurred_at);
CREATE INDEX audit_logs_entity ON audit_logs (entity_type, entity_id);
CREATE INDEX audit_logs_occurred ON audit_logs (occurred_at);

-- Append-only: rows are never updated or deleted.
CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only';
END;
$$;
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();

CREATE TABLE workflows (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name               varchar(100) NOT NULL UNIQUE,
    title              varchar(200) NOT NULL DEFAULT '',
    description        text NOT NULL DEFAULT '',
    department_id      uuid REFERENCES departments (id),
    is_active          boolean NOT NULL DEFAULT true,
    current_version_id uuid,
    created_by         uuid REFERENCES users (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workflow_versions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id   uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version       integer NOT NULL,
    content_hash  varchar(64) NOT NULL,
    spec          jsonb NOT NULL,
    source        text NOT NULL,
    source_path   varchar(1000),
    created_by    uuid REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, version),
    UNIQUE (workflow_id, content_hash)
);
ALTER TABLE workflows ADD CONSTRAINT workflows_current_version_fk
    FOREIGN KEY (current_version_id) REFERENCES workflow_versions (id);

CREATE TABLE workflow_steps (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_version_id  uuid NOT NULL REFERENCES workflow_versions (id) ON DELETE CASCADE,
    position             integer NOT NULL,
    step_key             varchar(64) NOT NULL,
    action               varchar(100) NOT NULL,
    config               jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (workflow_version_id, position),
    UNIQUE (workflow_version_id, step_key)
);

CREATE TABLE executions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id          uuid NOT NULL REFERENCES workflows (id),
    workflow_version_id  uuid NOT NULL REFERENCES workflow_versions (id),
    department_id        uuid REFERENCES departments (id),
    status               varchar(20) NOT NULL DEFAULT 'PENDING',
    inputs               jsonb NOT NULL DEFAULT '{}'::jsonb,
    error                jsonb,
    idempotency_key      varchar(200),
    created_by           uuid REFERENCES users (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    finished_at          timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX executions_idempotency ON executions (workflow_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_status ON executions (status, created_at);
CREATE INDEX executions_department ON executions (department_id, created_at);
CREATE INDEX executions_workflow ON executions (workflow_id, created_at);

CREATE TABLE execution_steps (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    execution_id     uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    step_key         varchar(64) NOT NULL,
    action           varchar(100) NOT NULL,
    status           varchar(20) NOT NULL DEFAULT 'PENDING',
    attempt          integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 1,
    next_attempt_at  timestamptz,
    enqueued_at      timestamptz,
    lease_owner      varchar(200),
    lease_expires_at timestamptz,
    fencing_token    bigint NOT NULL DEFAULT 0,
    attempt_started  boolean NOT NULL DEFAULT false,
    idempotency_key  varchar(200) NOT NULL,
    output           jsonb,
    error            jsonb,
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (execution_id, position),
    UNIQUE (execution_id, step_key)
);
CREATE INDEX execution_steps_runnable ON execution_steps (next_attempt_at)
    WHERE status = 'PENDING';
CREATE INDEX execution_steps_leased ON execution_steps (lease_expires_at)
    WHERE status = 'RUNNING';

CREATE TABLE execution_step_attempts (
    id                 bigserial PRIMARY KEY,
    execution_step_id  uuid NOT NULL REFERENCES execution_steps (id) ON DELETE CASCADE,
    attempt            integer NOT NULL,
    fencing_token      bigint NOT NULL,
    worker             varchar(200),
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    outcome            varchar(32),
    output             jsonb,
    error              jsonb
);
CREATE INDEX execution_step_attempts_step ON execution_step_attempts (execution_step_id, attempt);

CREATE TABLE human_tasks (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    execution_id       uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    execution_step_id  uuid NOT NULL UNIQUE REFERENCES execution_steps (id) ON DELETE CASCADE,
    department_id      uuid REFERENCES departments (id),
    title              varchar(500) NOT NULL,
    description        text NOT NULL DEFAULT '',
    status             varchar(20) NOT NULL DEFAULT 'OPEN',
    assignee_id        uuid REFERENCES users (id),
    assignee_role      varchar(16),
    reviewer_role      varchar(16),
    form               jsonb NOT NULL DEFAULT '{}'::jsonb,
    submission         jsonb,
    submitted_by       uuid REFERENCES users (id),
    submitted_at       timestamptz,
    decision           varchar(16),
    decided_by         uuid REFERENCES users (id),
    decided_at         timestamptz,
    rejection_reason   text,
    due_at             timestamptz,
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX human_tasks_inbox ON human_tasks (department_id, status);
CREATE INDEX human_tasks_assignee ON human_tasks (assignee_id, status);

CREATE TABLE http_idempotency_keys (
    id               bigserial PRIMARY KEY,
    user_id          uuid NOT NULL,
    key              varchar(200) NOT NULL,
    method           varchar(10) NOT NULL,
    path             varchar(1000) NOT NULL,
    request_hash     varchar(64) NOT NULL,
    response_status  integer,
    response_body    jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    UNIQUE (user_id, key)
);
