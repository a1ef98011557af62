-- audit_instances (PostgreSQL): as 0130_audit_instances.sqlite.sql, kept
-- by the append's own statement (internal/audit/postgres.go, folded). The
-- same table on both stores, not pg_trgm: it needs no extension, and a
-- scan of one row an instance is small beside the log.
CREATE TABLE audit_instances (
    instance_id   TEXT   NOT NULL,
    instance_name TEXT   NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (instance_id, instance_name)
);

-- No append between the backfill's read and the commit (an append of this
-- version waits for the migrations; the lock holds off any other).
LOCK TABLE audit_events IN SHARE MODE;

INSERT INTO audit_instances (instance_id, instance_name, n)
SELECT instance_id, instance_name, COUNT(*) FROM audit_events WHERE seq = op_id
GROUP BY instance_id, instance_name;
