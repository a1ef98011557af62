-- /readyz writes this one row in a transaction of its own: a replica is
-- ready when its database accepts a write (a full disk, a lock held by
-- another connection, a read-only file or no free connection fail it).
CREATE TABLE ready_probe (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL
);
INSERT INTO ready_probe (id, at) VALUES (1, '');
