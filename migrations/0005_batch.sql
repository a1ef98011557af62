-- A batch start's id, on each of its operations' entries ('' for a single
-- start). Hashed only when set, so older entries keep their hashes.
ALTER TABLE audit_events ADD COLUMN batch_id TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_batch ON audit_events (batch_id) WHERE batch_id <> '';
