-- The audit page's default view (starts, checks and the chain's keying;
-- sign-ins apart) reads newest first through an index in its own order,
-- so a page costs its 50 rows at any size of the log: audit_ops_action
-- served the filter but not the order, and SQLite sorted every match.
-- The condition is written exactly as internal/audit's query states it.
CREATE INDEX audit_ops_shown ON audit_ops (op_id) WHERE action IN ('StartInstance', 'check', 'audit_key');

-- The pager's total without a count: operations by action, kept in the
-- append's own transaction (an operation's first entry has seq = op_id).
CREATE TABLE audit_op_counts (
    action TEXT    PRIMARY KEY,
    n      INTEGER NOT NULL
);
INSERT INTO audit_op_counts (action, n) SELECT action, COUNT(*) FROM audit_ops GROUP BY action;

CREATE TRIGGER audit_op_counts_track AFTER INSERT ON audit_events WHEN NEW.seq = NEW.op_id
BEGIN
    INSERT INTO audit_op_counts (action, n) VALUES (NEW.action, 1)
    ON CONFLICT (action) DO UPDATE SET n = n + 1;
END;
