-- PostgreSQL: the append folds each entry into audit_ops itself, in the same
-- statement as its insert (internal/audit/postgres.go), instead of a
-- trigger: a plpgsql call per entry was a sixth of an append's time. The
-- fold is the trigger's, unchanged: the operation's first entry names it,
-- its newest gives last_seq and state.
DROP TRIGGER audit_ops_track ON audit_events;
DROP FUNCTION audit_ops_track();
