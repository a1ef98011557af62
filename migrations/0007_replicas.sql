-- Several replicas on one database (PostgreSQL; SQLite has these tables too,
-- with one process as their only user).
--
-- Each entry names the replica that wrote it ('' on a single-process
-- store, and on every entry from before): an intent belongs to its replica,
-- and only that replica, or another once the owner's lease has run out,
-- records a lost outcome as unknown. Hashed only when set, so older entries
-- keep their hashes.
ALTER TABLE audit_events ADD COLUMN replica TEXT NOT NULL DEFAULT '';

-- A replica's lease: renewed by its heartbeat while it runs.
CREATE TABLE replicas (
    id          TEXT PRIMARY KEY,
    started_at  TEXT NOT NULL,
    lease_until TEXT NOT NULL
);

-- What the replicas share instead of one process's memory: failed sign-ins
-- (the login throttle counts them per key in a window) and claims (a
-- one-time form token, a paced sign-in, a throttle refusal already
-- recorded), each with the time it was made; both are swept once old.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

CREATE TABLE claims (
    key TEXT PRIMARY KEY,
    at  TEXT NOT NULL
);

-- A request is decided once: approved, rejected, withdrawn or expired. The
-- appends check the state under the chain's lock; this index makes the
-- database itself refuse a second decision, whatever the caller.
CREATE UNIQUE INDEX audit_events_one_decision ON audit_events (op_id)
    WHERE action IN ('approve', 'reject', 'withdraw', 'expire');
