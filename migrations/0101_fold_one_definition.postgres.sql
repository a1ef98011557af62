-- PostgreSQL folds each entry in the append's own statement
-- (internal/audit/postgres.go, folded), generated from the same one
-- definition as SQLite's triggers (internal/audit/fold.go): nothing to
-- create here.
SELECT 1;
