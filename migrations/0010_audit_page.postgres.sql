-- The audit page's default view (starts, checks and the chain's keying;
-- sign-ins apart) reads newest first through an index in its own order,
-- so a page costs its 50 rows at any size of the log. The condition is
-- written exactly as internal/audit's query states it.
CREATE INDEX audit_ops_shown ON audit_ops (op_id) WHERE action IN ('StartInstance', 'check', 'audit_key');

-- The pager's total without a count: operations by action, kept by the
-- append's own statement (internal/audit/postgres.go, folded).
CREATE TABLE audit_op_counts (
    action TEXT   PRIMARY KEY,
    n      BIGINT NOT NULL
);
INSERT INTO audit_op_counts (action, n) SELECT action, COUNT(*) FROM audit_ops GROUP BY action;
