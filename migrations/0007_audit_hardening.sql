-- Audit hardening: keyed seals, no TRUNCATE of the audit tables, and the least-privileged role
-- the application runs as (migrations keep running as the owner).

-- The seals of 0005 were plain SHA-256 chains over a session-dependent encoding, which anyone
-- able to write to the database could recompute. They are discarded (the rows stay untouched);
-- the scheduler re-seals every row under the keyed scheme on its next run.
TRUNCATE audit_seals RESTART IDENTITY;
ALTER TABLE audit_seals ADD COLUMN mac varchar(64) NOT NULL;
ALTER TABLE audit_seals
    ADD CONSTRAINT audit_seals_range CHECK (first_id <= last_id AND row_count > 0);

CREATE FUNCTION audit_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate();

-- govflow_app: a NOLOGIN group role. Roles belong to the whole cluster while these grants belong
-- to this database, so creating it tolerates another database (or a concurrent migration of
-- another database) having created it first.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'govflow_app') THEN
        CREATE ROLE govflow_app NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END;
$$;

GRANT USAGE ON SCHEMA public TO govflow_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO govflow_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO govflow_app;
-- Tables and sequences later migrations create (as the same owner) get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO govflow_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO govflow_app;

-- The audit tables: append and read only. The migrations' own bookkeeping: read only.
REVOKE ALL ON audit_logs, audit_seals FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_logs, audit_seals FROM govflow_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON schema_migrations FROM govflow_app;
