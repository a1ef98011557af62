-- A version of the grants table (issue 32): as 0120_grants_version.sqlite.sql.
-- One bump per statement (a TRUNCATE too), in the writing transaction.
CREATE TABLE grants_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO grants_version (id, n) VALUES (1, 0);
CREATE OR REPLACE FUNCTION grants_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE grants_version SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER grants_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grants
    FOR EACH STATEMENT EXECUTE FUNCTION grants_version_bump();
