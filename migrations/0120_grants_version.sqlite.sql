-- A version of the grants table (issue 32): every insert, update or delete
-- of a grant bumps it, in the same transaction, whoever writes (the
-- dashboard, the CLI, a hand-made SQL). Each signed-in request reads it
-- with the user's epoch in one narrow query, so a replica keeps a user's
-- grants in memory and still sees a grant given or taken at the next request.
CREATE TABLE grants_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO grants_version (id, n) VALUES (1, 0);
CREATE TRIGGER grants_version_insert AFTER INSERT ON grants
BEGIN
    UPDATE grants_version SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER grants_version_update AFTER UPDATE ON grants
BEGIN
    UPDATE grants_version SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER grants_version_delete AFTER DELETE ON grants
BEGIN
    UPDATE grants_version SET n = n + 1 WHERE id = 1;
END;
