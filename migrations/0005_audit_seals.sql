-- Tamper evidence for the audit log: sealed batches of rows, each hash chained to the last.
CREATE TABLE audit_seals (
    id             bigserial PRIMARY KEY,
    first_id       bigint NOT NULL,
    last_id        bigint NOT NULL,
    row_count      integer NOT NULL,
    previous_hash  varchar(64) NOT NULL,
    hash           varchar(64) NOT NULL,
    sealed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX audit_seals_last_id ON audit_seals (last_id);

CREATE FUNCTION audit_seals_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_seals is append-only';
END;
$$;
CREATE TRIGGER audit_seals_no_update BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_seals_append_only();
