-- SQLite keeps the trigger of 0003_audit_ops.sql: its appends go through one
-- writer connection, where the trigger costs no round trip.
SELECT 1;
